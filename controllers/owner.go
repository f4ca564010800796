package controllers

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// OwnerKey returns the key of the object a controller reference in namespace ns points to, when
// the reference is of the given kind (group and kind; any version); nil otherwise.
func OwnerKey(ns string, ref *metav1.OwnerReference, kind schema.GroupVersionKind) *types.NamespacedName {
	if ref == nil {
		return nil
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil || ref.Kind != kind.Kind || gv.Group != kind.Group {
		return nil
	}
	return &types.NamespacedName{Namespace: ns, Name: ref.Name}
}
