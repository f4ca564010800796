// Package admission holds Skiff's own admission plugins, written after kube-apiserver's:
// DefaultTolerationSeconds, ServiceAccount (serviceaccount.go); LimitRanger and ResourceQuota.
package admission
