// Package defaults applies upstream Kubernetes' defaulting (SetDefaults_* in k8s.io/kubernetes)
// to the k8s.io/api types Skiff serves. Default dispatches on the object's Go type.
package defaults
