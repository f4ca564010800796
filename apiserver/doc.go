// Package apiserver is Skiff's API server: k8s.io/apiserver's generic server serving the standard
// kinds from an embedded (or external) etcd, with Skiff's own certificate authority, client
// certificate authentication, OpenAPI v2/v3 from apiserver/openapi, and tables from
// apiserver/printers.
//
// Use follows sample-apiserver: Options → Config() → Complete() → New(), then Start(ctx).
package apiserver
