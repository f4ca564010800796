// Package nodeagent is Skiff's kubelet: it turns the pods bound to its node into CRI calls
// against containerd and reports their status. (Under construction.)
package nodeagent
