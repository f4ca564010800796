package helper

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestResourceNames(t *testing.T) {
	for _, tc := range []struct {
		name             corev1.ResourceName
		native, extended bool
	}{
		{"cpu", true, false},
		{"hugepages-2Mi", true, false},
		{"kubernetes.io/something", true, false},
		{"example.com/gpu", false, true},
		{"scheduling.k8s.io/foo", false, true},
		{"requests.example.com/gpu", false, false},
		{"example.com/bad name", false, false},
	} {
		if got := IsNativeResource(tc.name); got != tc.native {
			t.Errorf("IsNativeResource(%q) = %v", tc.name, got)
		}
		if got := IsExtendedResourceName(tc.name); got != tc.extended {
			t.Errorf("IsExtendedResourceName(%q) = %v", tc.name, got)
		}
	}
}
