package controllers

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func TestPodControllerKey(t *testing.T) {
	ref := func(uid string, controller bool) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: k8stypes.UID("u-" + uid), Controller: ptr.To(controller)}
	}
	for _, tc := range []struct {
		name string
		refs []metav1.OwnerReference
		want string
	}{
		{"orphan", nil, OrphanPods},
		{"owner that is not the controller", []metav1.OwnerReference{ref("a", false)}, OrphanPods},
		{"controlled", []metav1.OwnerReference{ref("a", false), ref("b", true)}, "u-b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", OwnerReferences: tc.refs}}
			if got := podControllerKey(pod); !slices.Equal(got, []string{tc.want}) {
				t.Errorf("podControllerKey = %v, want [%s]", got, tc.want)
			}
		})
	}
}
