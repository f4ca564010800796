// Package rbac is the storage of rbac.authorization.k8s.io/v1 (Provider): the four RBAC kinds,
// the escalation Guard on their writes, and listers that read them straight from storage.
package rbac
