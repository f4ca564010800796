// Package printers converts the standard kinds to server-side tables (meta.k8s.io Table) with
// kube-apiserver's columns, so `kubectl get` prints what it prints against Kubernetes.
package printers
