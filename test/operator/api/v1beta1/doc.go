// Package v1beta1 is the web.example.com/v1beta1 API: the Website kind with its page in
// spec.page (v1alpha1's spec.content). v1alpha1 is the hub and the stored version; a conversion
// webhook (internal/webhook, served by cmd/manager) converts between them.
// +kubebuilder:object:generate=true
// +groupName=web.example.com
package v1beta1
