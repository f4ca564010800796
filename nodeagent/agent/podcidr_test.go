package agent

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiff-dev/skiff/test/poll"
)

// TestAwaitPodCIDR: a node without --pod-cidr registers NotReady (the kubelet's "network not
// ready" condition) and gets the podCIDR the node IPAM controller sets; a node registered before
// with a podCIDR keeps it and its status.
func TestAwaitPodCIDR(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := fake.NewClientset()
	got := make(chan string, 1)
	errs := make(chan error, 1)
	go func() {
		cidr, err := AwaitPodCIDR(ctx, Config{NodeName: "n1", Client: c, DataDir: t.TempDir(), NodeIP: "192.0.2.7"})
		got <- cidr
		errs <- err
	}()
	var node *corev1.Node
	if err := poll.Wait(ctx, 20*time.Second, func() error {
		n, err := c.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(n.Status.Conditions) == 0 {
			return errors.New("no conditions yet")
		}
		node = n
		return nil
	}); err != nil {
		t.Fatalf("node not registered: %v", err)
	}
	if node.Spec.PodCIDR != "" || len(node.Spec.PodCIDRs) != 0 {
		t.Errorf("registered with podCIDR %q %q, want none", node.Spec.PodCIDR, node.Spec.PodCIDRs)
	}
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady && (cond.Status != corev1.ConditionFalse || cond.Reason != "KubeletNotReady" ||
			cond.Message != "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized") {
			t.Errorf("Ready condition %+v, want False with the kubelet's network-not-ready message", cond)
		}
	}
	if len(node.Status.Addresses) == 0 || node.Status.Addresses[0].Address != "192.0.2.7" {
		t.Errorf("addresses %v", node.Status.Addresses)
	}
	select {
	case cidr := <-got:
		t.Fatalf("returned %q before a podCIDR was set", cidr)
	case <-time.After(300 * time.Millisecond):
	}
	node.Spec.PodCIDR, node.Spec.PodCIDRs = "10.246.3.0/24", []string{"10.246.3.0/24"}
	if _, err := c.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if cidr, err := <-got, <-errs; err != nil || cidr != "10.246.3.0/24" {
		t.Fatalf("AwaitPodCIDR = %q, %v; want 10.246.3.0/24", cidr, err)
	}

	// Registered before, with its podCIDR: returned at once, the Node left alone.
	before := len(c.Actions())
	cidr, err := AwaitPodCIDR(ctx, Config{NodeName: "n1", Client: c, DataDir: t.TempDir()})
	if err != nil || cidr != "10.246.3.0/24" {
		t.Fatalf("again: %q, %v", cidr, err)
	}
	// Reads only (the first call's watch may still record its last list or watch here).
	for _, a := range c.Actions()[before:] {
		if v := a.GetVerb(); v != "get" && v != "list" && v != "watch" {
			t.Errorf("unexpected %s %s/%s", a.GetVerb(), a.GetResource().Resource, a.GetSubresource())
		}
	}
}
