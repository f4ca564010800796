// Package validation validates the standard kinds Skiff serves as kube-apiserver does: the same
// rules, field paths and messages, so that a bad object is answered with the 422 Invalid body a
// Kubernetes user expects.
//
// Entry points dispatch on the object's Go type: ValidateCreate, ValidateUpdate and
// ValidateStatusUpdate. Kinds without rules return no errors.
package validation
