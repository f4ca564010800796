package nodeipam_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/nodeipam"
	"github.com/skiff-dev/skiff/test/poll"
)

func createNode(t *testing.T, c kubernetes.Interface, name string, podCIDRs ...string) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if len(podCIDRs) > 0 {
		n.Spec.PodCIDR, n.Spec.PodCIDRs = podCIDRs[0], podCIDRs
	}
	if _, err := c.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// podCIDR waits until the node has a podCIDR and returns it, checking podCIDRs agrees.
func podCIDR(t *testing.T, c kubernetes.Interface, name string) string {
	t.Helper()
	var got string
	poll.Until(t, 20*time.Second, "the podCIDR of node "+name, poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil || n.Spec.PodCIDR == "" {
			return false, nil
		}
		if len(n.Spec.PodCIDRs) != 1 || n.Spec.PodCIDRs[0] != n.Spec.PodCIDR {
			return false, fmt.Errorf("node %s: podCIDR %q but podCIDRs %q", name, n.Spec.PodCIDR, n.Spec.PodCIDRs)
		}
		got = n.Spec.PodCIDR
		return true, nil
	}))
	return got
}

// TestNodeIPAM runs the controller on 10.250.0.0/22 (four /24s) against the real API server:
// nodes get distinct subnets, a node's own podCIDR is respected, a restarted controller keeps
// every assignment, a full range gives upstream's event, and a deleted node's subnet goes to the
// next node.
func TestNodeIPAM(t *testing.T) {
	s := apiservertest.Start(t)
	c := s.Client
	ctx := context.Background()
	// Before the controller starts: a node with its own podCIDR in range, one outside it.
	createNode(t, c, "own", "10.250.0.0/24")
	createNode(t, c, "outside", "192.168.7.0/24")
	start := func() func() {
		return controllertest.StartManager(t, s, func(mgr manager.Manager) error {
			return (&nodeipam.Controller{Base: controllers.Base{SkipNameValidation: true},
				Config:      nodeipam.Config{AllocateNodeCIDRs: true, ClusterCIDR: "10.250.0.0/22", NodeCIDRMaskSize: 24},
				RetryPeriod: 200 * time.Millisecond}).SetupWithManager(mgr)
		})
	}
	stop := start()

	createNode(t, c, "a")
	createNode(t, c, "b")
	a, b := podCIDR(t, c, "a"), podCIDR(t, c, "b")
	cluster := netip.MustParsePrefix("10.250.0.0/22")
	for _, got := range []string{a, b} {
		p := netip.MustParsePrefix(got)
		if !cluster.Contains(p.Addr()) || p.Bits() != 24 || got == "10.250.0.0/24" {
			t.Errorf("allocated %s: want a /24 of %v other than the existing 10.250.0.0/24", got, cluster)
		}
	}
	if a == b {
		t.Fatalf("nodes a and b both got %s", a)
	}

	// Restarted, the controller rebuilds its state from the Nodes: the one free /24 goes to c.
	stop()
	start()
	createNode(t, c, "c")
	cc := podCIDR(t, c, "c")
	taken := map[string]bool{"10.250.0.0/24": true, a: true, b: true}
	if taken[cc] {
		t.Fatalf("after a restart node c got %s, already in use (%v)", cc, taken)
	}
	for name, want := range map[string]string{"own": "10.250.0.0/24", "outside": "192.168.7.0/24", "a": a, "b": b} {
		if got := podCIDR(t, c, name); got != want {
			t.Errorf("node %s: podCIDR %s, want %s", name, got, want)
		}
	}

	// Full: node d waits with upstream's event.
	createNode(t, c, "d")
	dNode, err := c.CoreV1().Nodes().Get(ctx, "d", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 20*time.Second, "the CIDRNotAvailable event of node d", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		evs, err := c.CoreV1().Events("").List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("involvedObject.uid", string(dNode.UID)).String()})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == "CIDRNotAvailable" {
				if e.Message != "Node d status is now: CIDRNotAvailable" || e.Type != corev1.EventTypeNormal || e.Source.Component != "cidrAllocator" || e.InvolvedObject.Kind != "Node" {
					return false, fmt.Errorf("event %s %q %q from %q on %s", e.Type, e.Reason, e.Message, e.Source.Component, e.InvolvedObject.Kind)
				}
				return true, nil
			}
		}
		return false, nil
	}))
	if n, _ := c.CoreV1().Nodes().Get(ctx, "d", metav1.GetOptions{}); n.Spec.PodCIDR != "" {
		t.Fatalf("node d got %s from a full range", n.Spec.PodCIDR)
	}

	// Deleting a frees its /24 for d.
	if err := c.CoreV1().Nodes().Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := podCIDR(t, c, "d"); got != a {
		t.Errorf("node d got %s, want the deleted node a's %s", got, a)
	}
}

// TestNodeIPAMDualStack: one subnet of each family, the IPv4 one first in podCIDRs.
func TestNodeIPAMDualStack(t *testing.T) {
	s := controllertest.Start(t, func(mgr manager.Manager) error {
		return (&nodeipam.Controller{Base: controllers.Base{SkipNameValidation: true},
			Config: nodeipam.Config{AllocateNodeCIDRs: true, ClusterCIDR: "10.251.0.0/16,fd00:10:251::/48"}}).SetupWithManager(mgr)
	})
	createNode(t, s.Client, "ds")
	poll.Until(t, 20*time.Second, "dual-stack podCIDRs", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		n, err := s.Client.CoreV1().Nodes().Get(ctx, "ds", metav1.GetOptions{})
		if err != nil || n.Spec.PodCIDR == "" {
			return false, nil
		}
		if n.Spec.PodCIDR != "10.251.0.0/24" || fmt.Sprint(n.Spec.PodCIDRs) != "[10.251.0.0/24 fd00:10:251::/64]" {
			return false, fmt.Errorf("podCIDR %q podCIDRs %q", n.Spec.PodCIDR, n.Spec.PodCIDRs)
		}
		return true, nil
	}))
}
