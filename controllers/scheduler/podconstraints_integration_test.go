package scheduler

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func (e *env) nodeZone(t testing.TB, node string) string {
	t.Helper()
	n, err := e.client.CoreV1().Nodes().Get(e.ctx, node, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting node %s: %v", node, err)
	}
	return n.Labels["zone"]
}

func TestInterPodAffinityPlacement(t *testing.T) {
	e := startEnv(t, fastConfig())
	for _, n := range zoned() {
		e.createNode(t, n)
	}
	web := podLabels("app", "web")
	// Affinity to a pod that does not exist yet: pending until the db pod lands in z2.
	e.createPod(t, makePod("front", "", "", web, podAff([]corev1.PodAffinityTerm{term("zone", "app", "db")}, nil, nil, nil)))
	e.waitUnschedulable(t, "front", "0/3 nodes are available: 3 node(s) didn't match pod affinity rules. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
	e.createPod(t, makePod("db", "", "", podLabels("app", "db"), func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"zone": "z2"} }))
	if n := e.waitBound(t, "db"); n != "c" {
		t.Fatalf("db on %s, want c", n)
	}
	if n := e.waitBound(t, "front"); n != "c" {
		t.Fatalf("front on %s, want c (the db pod's zone)", n)
	}

	// One replica per node by required anti-affinity on the hostname; a fourth has nowhere to go.
	anti := podAff(nil, []corev1.PodAffinityTerm{term(corev1.LabelHostname, "app", "cache")}, nil, nil)
	seen := map[string]bool{}
	for i := range 3 {
		name := fmt.Sprintf("cache-%d", i)
		e.createPod(t, makePod(name, "", "", podLabels("app", "cache"), anti))
		n := e.waitBound(t, name)
		if seen[n] {
			t.Fatalf("%s on %s, which already has a cache pod", name, n)
		}
		seen[n] = true
	}
	e.createPod(t, makePod("cache-3", "", "", podLabels("app", "cache"), anti))
	e.waitUnschedulable(t, "cache-3", "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.")

	// An existing pod's anti-affinity keeps others of its kind out of its zone.
	e.createPod(t, makePod("loner", "", "", podLabels("app", "loner"), on("a"),
		podAff(nil, []corev1.PodAffinityTerm{term("zone", "app", "noisy")}, nil, nil)))
	e.createPod(t, makePod("noisy", "", "", podLabels("app", "noisy")))
	if n := e.waitBound(t, "noisy"); n != "c" {
		t.Fatalf("noisy on %s, want c (outside the loner's zone)", n)
	}
}

func TestTopologySpreadPlacement(t *testing.T) {
	e := startEnv(t, fastConfig())
	for _, n := range zoned() {
		e.createNode(t, n)
	}
	zones := map[string]int{}
	for i := range 4 {
		name := fmt.Sprintf("web-%d", i)
		e.createPod(t, makePod(name, "", "", podLabels("app", "web"), spread("zone", 1, corev1.DoNotSchedule)))
		zones[e.nodeZone(t, e.waitBound(t, name))]++
	}
	if zones["z1"] != 2 || zones["z2"] != 2 {
		t.Fatalf("zones %v, want 2 pods in each", zones)
	}
	// Only z1 is allowed by the node selector but z1 is already ahead: the skew would be 2.
	e.createPod(t, makePod("web-z1", "", "", podLabels("app", "web"), spread("zone", 1, corev1.DoNotSchedule),
		func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"zone": "z1"} }))
	if n := e.waitBound(t, "web-z1"); e.nodeZone(t, n) != "z1" {
		t.Fatalf("web-z1 on %s", n)
	}
	e.createPod(t, makePod("web-z1-again", "", "", podLabels("app", "web"), spread("zone", 1, corev1.DoNotSchedule, func(c *corev1.TopologySpreadConstraint) {
		c.NodeAffinityPolicy = ptr(corev1.NodeInclusionPolicyIgnore)
	}), func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"zone": "z1"} }))
	e.waitUnschedulable(t, "web-z1-again", "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) didn't match pod topology spread constraints. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.")
}
