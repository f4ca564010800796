// Package namespace is the storage of core/v1 namespaces (NewREST): the Active/Terminating
// lifecycle, upstream's two-step delete and namespaces/finalize.
package namespace
