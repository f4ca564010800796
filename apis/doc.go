// Package apis holds Skiff's API machinery that is independent of any server: scheme registration
// of the k8s.io/api types (each registered a second time as its own internal version, so no
// conversion code is needed), field-label conversions for field selectors, and, in the
// subpackages, upstream-compatible defaulting (apis/defaults) and validation (apis/validation).
//
// It imports only k8s.io/apimachinery and k8s.io/api.
package apis
