package authorization

import (
	"context"
	"testing"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// A node is its own local-path provisioner: it watches claims, manages volumes and reads
// classes, and no more.
func TestNodeLocalPathProvisionerRights(t *testing.T) {
	node := &user.DefaultInfo{Name: NodeUserPrefix + "n1", Groups: []string{NodesGroup}}
	for _, tc := range []struct {
		verb, group, resource string
		allowed               bool
	}{
		{"get", "", "persistentvolumeclaims", true},
		{"list", "", "persistentvolumeclaims", true},
		{"watch", "", "persistentvolumeclaims", true},
		{"create", "", "persistentvolumeclaims", false},
		{"update", "", "persistentvolumeclaims", false},
		{"delete", "", "persistentvolumeclaims", false},
		{"watch", "", "persistentvolumes", true},
		{"create", "", "persistentvolumes", true},
		{"update", "", "persistentvolumes", true},
		{"patch", "", "persistentvolumes", true},
		{"delete", "", "persistentvolumes", true},
		{"deletecollection", "", "persistentvolumes", false},
		{"get", "storage.k8s.io", "storageclasses", true},
		{"list", "storage.k8s.io", "storageclasses", true},
		{"watch", "storage.k8s.io", "storageclasses", true},
		{"create", "storage.k8s.io", "storageclasses", false},
		{"delete", "storage.k8s.io", "storageclasses", false},
	} {
		a := authorizer.AttributesRecord{User: node, Verb: tc.verb, APIGroup: tc.group, Resource: tc.resource, Namespace: "ns", ResourceRequest: true}
		if tc.resource != "persistentvolumeclaims" {
			a.Namespace = ""
		}
		d, _, err := (&Node{}).Authorize(context.Background(), a)
		if err != nil || (d == authorizer.DecisionAllow) != tc.allowed {
			t.Errorf("%s %s.%s: decision %v (%v), want allowed %v", tc.verb, tc.resource, tc.group, d, err, tc.allowed)
		}
	}
}
