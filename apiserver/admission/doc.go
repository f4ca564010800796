// Package admission holds Skiff's own admission plugins, written after kube-apiserver's:
// DefaultTolerationSeconds, ServiceAccount (serviceaccount.go), LimitRanger, Priority,
// ResourceQuota, and the storage plugins DefaultStorageClass, StorageObjectInUseProtection and
// PersistentVolumeClaimResize (storage.go).
package admission
