package quota

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	quota "k8s.io/apiserver/pkg/quota/v1"
)

func TestClaimUsage(t *testing.T) {
	e := NewClaimEvaluator(nil)
	claim := func(class *string, request string, allocated string) *corev1.PersistentVolumeClaim {
		pvc := &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: class}}
		if request != "" {
			pvc.Spec.Resources.Requests = rl("storage", request)
		}
		if allocated != "" {
			pvc.Status.AllocatedResources = rl("storage", allocated)
		}
		return pvc
	}
	fast := "fast"
	beta := claim(nil, "1Gi", "")
	beta.Annotations = map[string]string{"volume.beta.kubernetes.io/storage-class": "slow"}
	for _, tt := range []struct {
		name string
		pvc  *corev1.PersistentVolumeClaim
		want corev1.ResourceList
	}{
		{"no class", claim(nil, "1Gi", ""), rl("persistentvolumeclaims", "1", "count/persistentvolumeclaims", "1", "requests.storage", "1Gi")},
		{"per class", claim(&fast, "1Gi", ""), rl("persistentvolumeclaims", "1", "count/persistentvolumeclaims", "1", "requests.storage", "1Gi",
			"fast.storageclass.storage.k8s.io/persistentvolumeclaims", "1", "fast.storageclass.storage.k8s.io/requests.storage", "1Gi")},
		{"the beta annotation", beta, rl("persistentvolumeclaims", "1", "count/persistentvolumeclaims", "1", "requests.storage", "1Gi",
			"slow.storageclass.storage.k8s.io/persistentvolumeclaims", "1", "slow.storageclass.storage.k8s.io/requests.storage", "1Gi")},
		{"rounded up to a byte", claim(nil, "1500m", ""), rl("persistentvolumeclaims", "1", "count/persistentvolumeclaims", "1", "requests.storage", "2")},
		{"the larger allocation", claim(nil, "1Gi", "2Gi"), rl("persistentvolumeclaims", "1", "count/persistentvolumeclaims", "1", "requests.storage", "2Gi")},
		{"no request", claim(nil, "", ""), rl("persistentvolumeclaims", "1", "count/persistentvolumeclaims", "1")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Usage(tt.pvc)
			if err != nil {
				t.Fatal(err)
			}
			if !quota.Equals(got, tt.want) {
				t.Errorf("usage = %v, want %v", got, tt.want)
			}
		})
	}

	in := []corev1.ResourceName{"persistentvolumeclaims", "requests.storage", "count/persistentvolumeclaims", "gold.storageclass.storage.k8s.io/requests.storage",
		"gold.storageclass.storage.k8s.io/persistentvolumeclaims", "pods", "requests.cpu", "gold.storageclass.storage.k8s.io/limits.storage"}
	if got := e.MatchingResources(in); len(got) != 5 {
		t.Errorf("matching resources = %v", got)
	}
}

func TestClaimScopeAndReplenish(t *testing.T) {
	gold := "gold"
	pvc := &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{VolumeAttributesClassName: &gold}}
	plain := &corev1.PersistentVolumeClaim{}
	for _, tt := range []struct {
		name  string
		pvc   *corev1.PersistentVolumeClaim
		scope corev1.ScopedResourceSelectorRequirement
		want  bool
	}{
		{"exists", pvc, corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopeVolumeAttributesClass, Operator: corev1.ScopeSelectorOpExists}, true},
		{"exists without a class", plain, corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopeVolumeAttributesClass, Operator: corev1.ScopeSelectorOpExists}, false},
		{"in", pvc, corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopeVolumeAttributesClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"gold"}}, true},
		{"not in, no class", plain, corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopeVolumeAttributesClass, Operator: corev1.ScopeSelectorOpNotIn, Values: []string{"gold"}}, true},
		{"pod scopes do not apply", pvc, corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopeBestEffort, Operator: corev1.ScopeSelectorOpExists}, false},
	} {
		got, err := claimMatchesScope(tt.scope, tt.pvc)
		if err != nil || got != tt.want {
			t.Errorf("%s: match = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	grown := plain.DeepCopy()
	grown.Status.AllocatedResources = rl("storage", "2Gi")
	if RequiresQuotaReplenish(plain.DeepCopy(), plain) || !RequiresQuotaReplenish(grown, plain) || !RequiresQuotaReplenish(pvc, plain) {
		t.Errorf("RequiresQuotaReplenish: unchanged status must not count, allocations and attribute classes must")
	}
}
