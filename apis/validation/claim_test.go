package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestPersistentVolumeClaim(t *testing.T) {
	claim := func(mutate func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
		c := validClaimTemplate("data-web-0")
		c.Namespace, c.ResourceVersion = "default", "1"
		mutate(&c)
		return defaulted(&c)
	}
	size := func(q string) func(*corev1.PersistentVolumeClaim) {
		return func(c *corev1.PersistentVolumeClaim) {
			c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse(q)
		}
	}
	// bound is a claim bound to pv-1 with 1Gi, then mutated.
	bound := func(mutate func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
		return claim(func(c *corev1.PersistentVolumeClaim) {
			c.Spec.VolumeName = "pv-1"
			c.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound,
				Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}
			mutate(c)
		})
	}
	class := func(name string) func(*corev1.PersistentVolumeClaim) {
		return func(c *corev1.PersistentVolumeClaim) { c.Spec.StorageClassName = &name }
	}
	immutable := []want{{"spec", field.ErrorTypeForbidden, "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"}}
	for _, tc := range []struct {
		name      string
		obj, old  *corev1.PersistentVolumeClaim
		create    []want
		updateErr []want
	}{
		{"valid", claim(func(*corev1.PersistentVolumeClaim) {}), nil, nil, nil},
		{"no namespace", claim(func(c *corev1.PersistentVolumeClaim) { c.Namespace = "" }), nil, []want{{"metadata.namespace", field.ErrorTypeRequired, ""}}, nil},
		{"no access modes", claim(func(c *corev1.PersistentVolumeClaim) { c.Spec.AccessModes = nil }), nil,
			[]want{{"spec.accessModes", field.ErrorTypeRequired, "at least 1 access mode is required"}}, nil},
		{"unknown access mode", claim(func(c *corev1.PersistentVolumeClaim) {
			c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"ReadSometimes"}
		}), nil,
			[]want{{"spec.accessModes", field.ErrorTypeNotSupported, `"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"`}}, nil},
		{"zero size", claim(size("0")), nil, []want{{"spec.resources[storage]", field.ErrorTypeInvalid, "must be greater than zero"}}, nil},
		{"no size", claim(func(c *corev1.PersistentVolumeClaim) { c.Spec.Resources.Requests = nil }), nil,
			[]want{{"spec.resources[storage]", field.ErrorTypeRequired, ""}}, nil},
		{"bad class name", claim(class("Fast_SSD")), nil, []want{{"spec.storageClassName", field.ErrorTypeInvalid, "a lowercase RFC 1123 subdomain"}}, nil},

		{"volumeName may be set once", claim(func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "pv-1" }), claim(func(*corev1.PersistentVolumeClaim) {}), nil, nil},
		{"volumeName may not change", claim(func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "pv-2" }),
			claim(func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "pv-1" }), nil, immutable},
		{"access modes are immutable", claim(func(c *corev1.PersistentVolumeClaim) {
			c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}), claim(func(*corev1.PersistentVolumeClaim) {}), nil, immutable},
		{"a pending claim may not grow", claim(size("2Gi")), claim(func(*corev1.PersistentVolumeClaim) {}), nil, immutable},
		{"a bound claim may grow", bound(size("2Gi")), bound(func(*corev1.PersistentVolumeClaim) {}), nil, nil},
		{"a bound claim may not shrink to its capacity", bound(size("1Gi")), bound(size("2Gi")), nil,
			[]want{{"spec.resources.requests.storage", field.ErrorTypeForbidden, "field can not be less than status.capacity"}}},
		{"a bound claim may not shrink below its capacity", bound(size("500Mi")), bound(func(*corev1.PersistentVolumeClaim) {}), nil,
			[]want{{"spec.resources.requests.storage", field.ErrorTypeForbidden, "field can not be less than status.capacity"}}},
		{"a failed expansion may be taken back above the capacity", bound(size("2Gi")), bound(size("3Gi")), nil, nil},
		{"a class may be set on a claim without one", claim(class("local-path")), claim(func(*corev1.PersistentVolumeClaim) {}), nil, nil},
		{"a class may not change", claim(class("fast")), claim(class("local-path")), nil, immutable},
		{"a bound claim may change its attributes class", bound(func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeAttributesClassName = ptr("gold") }),
			bound(func(*corev1.PersistentVolumeClaim) {}), nil, nil},
		{"volumeMode is immutable", claim(func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeMode = ptr(corev1.PersistentVolumeBlock) }),
			claim(func(*corev1.PersistentVolumeClaim) {}), nil, append(immutable, want{"volumeMode", field.ErrorTypeInvalid, "field is immutable"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.create)
			if tc.old != nil {
				checkErrs(t, ValidateUpdate(tc.obj, tc.old), tc.updateErr)
			}
		})
	}
}

func TestPersistentVolumeClaimStatus(t *testing.T) {
	old := validClaimTemplate("data")
	old.Namespace, old.ResourceVersion = "default", "1"
	for _, tc := range []struct {
		name   string
		status corev1.PersistentVolumeClaimStatus
		errs   []want
	}{
		{"bound with capacity", corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound,
			Capacity:                  corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AllocatedResources:        corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")},
			AllocatedResourceStatuses: map[corev1.ResourceName]corev1.ClaimResourceStatus{corev1.ResourceStorage: corev1.PersistentVolumeClaimNodeResizePending}}, nil},
		{"negative capacity", corev1.PersistentVolumeClaimStatus{Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("-1")}},
			[]want{{"status.capacity[storage]", field.ErrorTypeInvalid, "must be a valid resource quantity"}}},
		{"allocated cpu", corev1.PersistentVolumeClaimStatus{AllocatedResources: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}},
			[]want{{"status.allocatedResources", field.ErrorTypeNotSupported, ""}}},
		{"unknown resize status", corev1.PersistentVolumeClaimStatus{
			AllocatedResourceStatuses: map[corev1.ResourceName]corev1.ClaimResourceStatus{corev1.ResourceStorage: "Resizing"}},
			[]want{{"status.allocatedResourceStatuses", field.ErrorTypeNotSupported, ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pvc := old.DeepCopy()
			pvc.Status = tc.status
			checkErrs(t, ValidateStatusUpdate(pvc, &old), tc.errs)
		})
	}
}
