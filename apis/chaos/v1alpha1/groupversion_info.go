package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the group version of the Fault kind.
var GroupVersion = schema.GroupVersion{Group: "chaos.skiff.dev", Version: "v1alpha1"}

// Resource returns the group resource of a resource name in this group.
func Resource(resource string) schema.GroupResource {
	return GroupVersion.WithResource(resource).GroupResource()
}

var (
	// SchemeBuilder registers the group's types (apimachinery's builder: apis/ imports neither
	// controller-runtime nor client-go).
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the group's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, &Fault{}, &FaultList{})
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
