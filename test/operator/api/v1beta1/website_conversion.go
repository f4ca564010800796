package v1beta1

import (
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/conversion"

	webv1alpha1 "github.com/skiff-dev/skiff/test/operator/api/v1alpha1"
)

// ConvertTo converts this Website to the hub version (v1alpha1): page becomes content.
func (w *Website) ConvertTo(dst conversion.Hub) error {
	hub, ok := dst.(*webv1alpha1.Website)
	if !ok {
		return fmt.Errorf("unexpected hub type %T", dst)
	}
	hub.ObjectMeta = w.ObjectMeta
	hub.Spec = webv1alpha1.WebsiteSpec{Content: w.Spec.Page, Replicas: w.Spec.Replicas, Image: w.Spec.Image}
	hub.Status = w.Status
	return nil
}

// ConvertFrom converts the hub version (v1alpha1) to this Website: content becomes page.
func (w *Website) ConvertFrom(src conversion.Hub) error {
	hub, ok := src.(*webv1alpha1.Website)
	if !ok {
		return fmt.Errorf("unexpected hub type %T", src)
	}
	w.ObjectMeta = hub.ObjectMeta
	w.Spec = WebsiteSpec{Page: hub.Spec.Content, Replicas: hub.Spec.Replicas, Image: hub.Spec.Image}
	w.Status = hub.Status
	return nil
}
