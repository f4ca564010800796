package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	webv1alpha1 "github.com/skiff-dev/skiff/test/operator/api/v1alpha1"
)

// GroupVersion is the group and version of this Website.
var GroupVersion = schema.GroupVersion{Group: "web.example.com", Version: "v1beta1"}

// AddToScheme registers Website and WebsiteList.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &Website{}, &WebsiteList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}

// WebsiteSpec is the desired site.
type WebsiteSpec struct {
	// Page is the page the site serves (v1alpha1's content).
	// +kubebuilder:validation:MinLength=1
	Page string `json:"page"`
	// Replicas is how many pods serve it.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10
	// +kubebuilder:default=1
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// Image serves the page.
	// +kubebuilder:default="skiff/skiff-http:latest"
	// +optional
	Image string `json:"image,omitempty"`
}

// Website is a static site served by a Deployment behind a Service.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=site
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.spec.replicas`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Website struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   WebsiteSpec               `json:"spec,omitempty"`
	Status webv1alpha1.WebsiteStatus `json:"status,omitempty"`
}

// WebsiteList is a list of Websites.
// +kubebuilder:object:root=true
type WebsiteList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Website `json:"items"`
}
