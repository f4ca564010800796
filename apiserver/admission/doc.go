// Package admission holds Skiff's own admission plugins, written after kube-apiserver's:
// DefaultTolerationSeconds, ServiceAccount (serviceaccount.go), LimitRanger, Priority,
// PodSecurity (podsecurity.go, on k8s.io/pod-security-admission), ResourceQuota, the storage
// plugins DefaultStorageClass, StorageObjectInUseProtection and PersistentVolumeClaimResize
// (storage.go), RuntimeClass (runtimeclass.go: a pod's RuntimeClass gives it its overhead, node
// selector and tolerations; an unknown class is refused), DefaultIngressClass (ingressclass.go)
// and PodResizeValidator (podresize.go: a pods/resize beyond the node's allocatable is refused).
// Admission policies and webhooks are
// k8s.io/apiserver's own plugins, wired in apiserver/webhooks.go; their integration tests live
// here.
package admission
