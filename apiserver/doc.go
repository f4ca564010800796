// Package apiserver is Skiff's API server: k8s.io/apiserver's generic server serving the standard
// kinds from an embedded (or external) etcd, with Skiff's own certificate authority, client
// certificate authentication, OpenAPI v2/v3 from apiserver/openapi, and tables from
// apiserver/printers. Admission (server.go's applyAdmission) chains Skiff's plugins
// (apiserver/admission) with k8s.io/apiserver's admission-policy and webhook plugins
// (webhooks.go, which also resolves webhooks' Service references for them and for CRD
// conversion webhooks). insight.go serves /insight/v1/history and /insight/v1/why
// (apiserver/insight/history, apiserver/insight/why); every storage is wrapped by the history
// Recorder, which records who wrote each revision.
//
// Use follows sample-apiserver: Options → Config() → Complete() → New(), then Start(ctx).
package apiserver
