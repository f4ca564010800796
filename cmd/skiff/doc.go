// Command skiff is the one Skiff binary: `skiff up` runs a whole cluster on this machine,
// `skiff server` the control plane alone. See README.md.
package main
