// Package storage is the storage of storage.k8s.io/v1 (Provider): storageclasses (`sc`),
// volumeattributesclasses (`vac`), csidrivers, csinodes (`status`), volumeattachments
// (`status`) and the namespaced csistoragecapacities, with upstream's strategies (statuses
// cleared on create, specs kept on status updates). EnsureDefaultStorageClass creates the
// built-in `local-path` class at start.
package storage
