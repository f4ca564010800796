package trace

import (
	"errors"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func TestAncestors(t *testing.T) {
	meta := func(name, uid, owner string) *metav1.ObjectMeta {
		m := &metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(uid)}
		if owner != "" {
			m.OwnerReferences = []metav1.OwnerReference{
				{Kind: "Other", Name: "not-the-controller", UID: "x"},
				{Kind: "Owner", Name: owner, UID: types.UID("uid-" + owner), Controller: ptr.To(true)},
			}
		}
		return m
	}
	for _, tt := range []struct {
		name    string
		objects map[string]*metav1.ObjectMeta
		want    []string
	}{
		{"no controller", nil, nil},
		{"a pod, its ReplicaSet, its Deployment", map[string]*metav1.ObjectMeta{
			"rs": meta("rs", "uid-rs", "deploy"), "deploy": meta("deploy", "uid-deploy", ""),
		}, []string{"uid-rs", "uid-deploy"}},
		{"an owner that cannot be read ends the walk, its UID kept", map[string]*metav1.ObjectMeta{}, []string{"uid-rs"}},
		{"a cycle stops after five", map[string]*metav1.ObjectMeta{
			"rs": meta("rs", "uid-rs", "rs"),
		}, []string{"uid-rs", "uid-rs", "uid-rs", "uid-rs", "uid-rs"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pod := meta("pod", "uid-pod", "rs")
			if tt.objects == nil {
				pod = meta("pod", "uid-pod", "")
			}
			got := Ancestors(pod, func(ref metav1.OwnerReference, ns string) (metav1.Object, error) {
				if ns != "ns" {
					t.Errorf("owner %s read in namespace %q", ref.Name, ns)
				}
				if o, ok := tt.objects[ref.Name]; ok {
					return o, nil
				}
				return nil, errors.New("not found")
			})
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Ancestors = %v, want %v", got, tt.want)
			}
		})
	}
}
