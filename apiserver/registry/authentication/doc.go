// Package authentication is the storage of authentication.k8s.io/v1 (Provider): tokenreviews,
// which authenticate a token as the API server would, and selfsubjectreviews (kubectl auth whoami).
package authentication
