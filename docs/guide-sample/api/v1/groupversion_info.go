// Package v1 is the guide.example.com/v1 API: the Greeting kind of docs/extending.md.
// +kubebuilder:object:generate=true
// +groupName=guide.example.com
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API's group and version.
	GroupVersion = schema.GroupVersion{Group: "guide.example.com", Version: "v1"}
	// SchemeBuilder registers the kinds of this group version.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}
	// AddToScheme adds them to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
