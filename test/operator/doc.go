// Package operator is a small controller-runtime operator, written only against client-go and
// controller-runtime as any operator author would, tested against Skiff's testenv: a Website
// custom resource becomes a ConfigMap (its page), a Deployment serving it and a Service, all
// owned by the Website, and the Website's status reports the ready replicas.
//
// It is its own Go module (replace github.com/skiff-dev/skiff => ../..) so that it depends on
// Skiff the way an operator project would.
package operator
