// Package admission holds Skiff's own admission plugins, written after kube-apiserver's:
// DefaultTolerationSeconds today; ServiceAccount, LimitRanger and ResourceQuota to come.
package admission
