// Command skiff is the one Skiff binary: `skiff up` runs a whole cluster on this machine,
// `skiff server` the control plane alone, `skiff killall` stops every pod of this machine's
// Skiff nodes and removes their network, `skiff reset` does so for one data dir and wipes it.
// See README.md.
package main
