// Package v1alpha1 is the web.example.com/v1alpha1 API: the Website kind.
// +kubebuilder:object:generate=true
// +groupName=web.example.com
package v1alpha1
