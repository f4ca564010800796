package ingress

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/apis/helper"
)

func node(name string, ready bool, annotated bool, ips ...string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if annotated {
		n.Annotations = map[string]string{helper.AnnIngressPorts: "http=80,https=443"}
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}}
	for _, ip := range ips {
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip})
	}
	n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeHostName, Address: name})
	return n
}

func TestLoadBalancer(t *testing.T) {
	deleting := node("gone", true, true, "192.0.2.9")
	deleting.DeletionTimestamp = &metav1.Time{}
	for _, tc := range []struct {
		name  string
		nodes []*corev1.Node
		want  string
	}{
		{"no nodes", nil, "[]"},
		{"ready serving nodes, sorted and distinct", []*corev1.Node{node("b", true, true, "192.0.2.2"), node("a", true, true, "192.0.2.1", "192.0.2.2")}, "[192.0.2.1 192.0.2.2]"},
		{"not ready nodes are out", []*corev1.Node{node("a", false, true, "192.0.2.1"), node("b", true, true, "192.0.2.2")}, "[192.0.2.2]"},
		{"nodes without ingress are out", []*corev1.Node{node("a", true, false, "192.0.2.1"), node("b", true, true, "192.0.2.2")}, "[192.0.2.2]"},
		{"deleted nodes are out", []*corev1.Node{deleting, node("b", true, true, "192.0.2.2")}, "[192.0.2.2]"},
		{"only InternalIPs, valid ones", []*corev1.Node{node("a", true, true, "not-an-ip")}, "[]"},
	} {
		var ips []string
		for _, in := range LoadBalancer(tc.nodes) {
			ips = append(ips, in.IP)
		}
		if got := fmt.Sprint(ips); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}
