package agent

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	cri "k8s.io/cri-api/pkg/apis"
	clocktesting "k8s.io/utils/clock/testing"
)

type nilRuntime struct{ cri.RuntimeService }
type nilImages struct{ cri.ImageManagerService }

func countStatusUpdates(c *fake.Clientset) int {
	n := 0
	for _, a := range c.Actions() {
		if a.GetVerb() == "update" && a.GetResource().Resource == "nodes" && a.GetSubresource() == "status" {
			n++
		}
	}
	return n
}

func TestNodeRegistrationStatusAndLease(t *testing.T) {
	ctx := context.Background()
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	client := fake.NewSimpleClientset()
	a, err := New(Config{NodeName: "n1", Client: client, RuntimeService: nilRuntime{}, ImageService: nilImages{}, DataDir: t.TempDir(),
		PodCIDR: "10.1.0.0/24", NodeIP: "10.0.0.1", Clock: clk, NodeLabels: map[string]string{"role": "test"}})
	if err != nil {
		t.Fatal(err)
	}
	a.runtimeVersion = "containerd://2.1.0"
	if err := a.registerNode(ctx); err != nil {
		t.Fatal(err)
	}
	node, err := client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if node.Spec.PodCIDR != "10.1.0.0/24" || node.Labels["role"] != "test" || node.Labels[corev1.LabelHostname] != "n1" || node.Labels[corev1.LabelOSStable] != "linux" {
		t.Errorf("node meta/spec: %v %v", node.Labels, node.Spec)
	}
	st := node.Status
	if st.NodeInfo.ContainerRuntimeVersion != "containerd://2.1.0" || st.NodeInfo.KubeletVersion != "v1.37.2-skiff" || st.DaemonEndpoints.KubeletEndpoint.Port != 10250 {
		t.Errorf("nodeInfo %+v", st.NodeInfo)
	}
	if len(st.Conditions) != 4 || st.Conditions[3].Type != corev1.NodeReady || st.Conditions[3].Message != "kubelet is posting ready status" {
		t.Errorf("conditions %+v", st.Conditions)
	}
	if st.Addresses[0] != (corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}) {
		t.Errorf("addresses %v", st.Addresses)
	}
	updates := countStatusUpdates(client)

	// unchanged: no write until the report interval passed
	clk.Step(10 * time.Second)
	if err := a.syncNodeStatus(ctx); err != nil {
		t.Fatal(err)
	}
	if got := countStatusUpdates(client); got != updates {
		t.Fatalf("unchanged status written (%d -> %d)", updates, got)
	}
	clk.Step(5 * time.Minute)
	if err := a.syncNodeStatus(ctx); err != nil {
		t.Fatal(err)
	}
	if got := countStatusUpdates(client); got != updates+1 {
		t.Fatalf("status not reported after 5 min (%d -> %d)", updates, got)
	}
	node, _ = client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	ready := node.Status.Conditions[3]
	if !ready.LastHeartbeatTime.After(ready.LastTransitionTime.Time) {
		t.Errorf("heartbeat %v not after transition %v", ready.LastHeartbeatTime, ready.LastTransitionTime)
	}

	// re-registration of an existing node keeps it and reconciles labels
	a.cfg.NodeLabels = map[string]string{"role": "changed"}
	if err := a.registerNode(ctx); err != nil {
		t.Fatal(err)
	}
	node, _ = client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if node.Labels["role"] != "changed" {
		t.Errorf("labels not reconciled: %v", node.Labels)
	}

	// Extended resources others put in the status stay (allocatable as capacity); the agent's
	// own resources are its own.
	node.Status.Capacity["example.com/foo"] = resource.MustParse("5")
	node.Status.Capacity[corev1.ResourceCPU] = resource.MustParse("99")
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	clk.Step(5 * time.Minute)
	if err := a.syncNodeStatus(ctx); err != nil {
		t.Fatal(err)
	}
	node, _ = client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	foo, cpu := node.Status.Capacity["example.com/foo"], node.Status.Capacity[corev1.ResourceCPU]
	if foo.String() != "5" || node.Status.Allocatable.Name("example.com/foo", resource.DecimalSI).String() != "5" || cpu.String() == "99" {
		t.Errorf("after an extended resource was added: capacity %v, allocatable %v", node.Status.Capacity, node.Status.Allocatable)
	}

	// lease: created with 40 s, then renewed
	if err := a.renewLease(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Step(10 * time.Second)
	if err := a.renewLease(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *l.Spec.LeaseDurationSeconds != 40 || *l.Spec.HolderIdentity != "n1" || !l.Spec.RenewTime.Time.Equal(clk.Now()) || len(l.OwnerReferences) != 1 {
		t.Errorf("lease %+v %v", l.Spec, l.OwnerReferences)
	}
}
