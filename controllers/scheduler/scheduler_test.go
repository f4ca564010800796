package scheduler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/test/poll"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

type env struct {
	client kubernetes.Interface
	ctx    context.Context
	sched  *Scheduler
}

// startEnv runs a real API server and a manager with only the scheduler.
func startEnv(t testing.TB, c Config) *env {
	t.Helper()
	sched := New(c)
	s := controllertest.Start(t, sched.SetupWithManager)
	return &env{client: s.Client, ctx: t.Context(), sched: sched}
}

func (e *env) createNode(t testing.TB, n *corev1.Node) {
	t.Helper()
	if _, err := e.client.CoreV1().Nodes().Create(e.ctx, n, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating node %s: %v", n.Name, err)
	}
}

func (e *env) createPod(t testing.TB, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	p = p.DeepCopy()
	p.UID = ""
	out, err := e.client.CoreV1().Pods(p.Namespace).Create(e.ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating pod %s: %v", p.Name, err)
	}
	return out
}

func (e *env) waitBound(t testing.TB, name string) string {
	t.Helper()
	var node string
	poll.Until(t, 30*time.Second, "pod "+name+" bound", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		p, err := e.client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		node = p.Spec.NodeName
		return node != "", nil
	}))
	return node
}

func (e *env) waitUnschedulable(t testing.TB, name, wantMsg string) {
	t.Helper()
	var last string
	poll.Until(t, 30*time.Second, "pod "+name+" unschedulable", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		p, err := e.client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Spec.NodeName != "" {
			return false, fmt.Errorf("pod was bound to %s", p.Spec.NodeName)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				last = c.Message
				return wantMsg == "" || c.Message == wantMsg, nil
			}
		}
		return false, nil
	}))
	_ = last
}

func (e *env) waitEvent(t testing.TB, podName, reason, wantMsg string) {
	t.Helper()
	poll.Until(t, 30*time.Second, reason+" event for "+podName, poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		list, err := e.client.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, ev := range list.Items {
			if ev.InvolvedObject.Name == podName && ev.Reason == reason && (wantMsg == "" || ev.Message == wantMsg) {
				return true, nil
			}
		}
		return false, nil
	}))
}

func fastConfig() Config {
	return Config{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, FlushInterval: 50 * time.Millisecond}
}

func TestSpreadsReplicaSetPods(t *testing.T) {
	e := startEnv(t, fastConfig())
	for i := range 3 {
		e.createNode(t, makeNode(fmt.Sprintf("node-%d", i), "4", "8Gi", 110))
	}
	ref := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-abc", UID: types.UID("11111111-2222-3333-4444-555555555555"), Controller: ptr(true), BlockOwnerDeletion: ptr(true)}
	for i := range 3 {
		e.createPod(t, makePod(fmt.Sprintf("web-abc-%d", i), "", "", func(p *corev1.Pod) { p.OwnerReferences = []metav1.OwnerReference{ref} }))
	}
	used := map[string]bool{}
	for i := range 3 {
		name := fmt.Sprintf("web-abc-%d", i)
		node := e.waitBound(t, name)
		used[node] = true
		e.waitEvent(t, name, "Scheduled", fmt.Sprintf("Successfully assigned default/%s to %s", name, node))
	}
	if len(used) != 3 {
		t.Errorf("pods landed on %d nodes (%v), want 3", len(used), used)
	}
}

func TestUnschedulableThenNodeAdded(t *testing.T) {
	e := startEnv(t, fastConfig())
	for i := range 3 {
		e.createNode(t, makeNode(fmt.Sprintf("node-%d", i), "2", "4Gi", 110))
	}
	e.createPod(t, makePod("big", "8", "1Gi"))
	msg := "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
	e.waitUnschedulable(t, "big", msg)
	e.waitEvent(t, "big", "FailedScheduling", msg)

	e.createNode(t, makeNode("large", "16", "32Gi", 110))
	if node := e.waitBound(t, "big"); node != "large" {
		t.Errorf("bound to %s, want large", node)
	}

	poll.Until(t, 10*time.Second, "scheduler metrics", poll.Cond(t.Context(), func(context.Context) (bool, error) {
		families, err := metrics.Registry.Gather()
		if err != nil {
			return false, err
		}
		seen := map[string]bool{}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				result := ""
				for _, l := range m.GetLabel() {
					if l.GetName() == "result" {
						result = l.GetValue()
					}
				}
				switch {
				case f.GetName() == "scheduler_schedule_attempts_total" && m.GetCounter().GetValue() > 0:
					seen["attempts_"+result] = true
				case f.GetName() == "scheduler_scheduling_attempt_duration_seconds" && m.GetHistogram().GetSampleCount() > 0:
					seen["duration_"+result] = true
				case f.GetName() == "scheduler_pending_pods":
					seen["pending"] = true
				}
			}
		}
		return seen["attempts_scheduled"] && seen["attempts_unschedulable"] && seen["duration_scheduled"] && seen["pending"], nil
	}))
}

func TestTaintedNodeGetsOnlyToleratingPods(t *testing.T) {
	e := startEnv(t, fastConfig())
	e.createNode(t, makeNode("tainted", "8", "16Gi", 110, withTaint("dedicated", "infra", corev1.TaintEffectNoSchedule)))
	e.createNode(t, makeNode("plain", "8", "16Gi", 110))
	for i := range 5 {
		e.createPod(t, makePod(fmt.Sprintf("plain-%d", i), "100m", "100Mi"))
	}
	tol := withToleration(corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "infra", Effect: corev1.TaintEffectNoSchedule})
	e.createPod(t, makePod("infra", "100m", "100Mi", tol, func(p *corev1.Pod) {
		p.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": "tainted"}
	}))
	for i := range 5 {
		if node := e.waitBound(t, fmt.Sprintf("plain-%d", i)); node != "plain" {
			t.Errorf("plain-%d bound to %s", i, node)
		}
	}
	if node := e.waitBound(t, "infra"); node != "tainted" {
		t.Errorf("infra bound to %s", node)
	}

	// Only the tainted node left for a non-tolerating pod: it stays pending.
	e.createPod(t, makePod("stuck", "", "", func(p *corev1.Pod) {
		p.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": "tainted"}
	}))
	e.waitUnschedulable(t, "stuck", "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: infra}. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")
}

func TestNodeSelectorAndAffinity(t *testing.T) {
	e := startEnv(t, fastConfig())
	e.createNode(t, makeNode("ssd-a", "4", "8Gi", 110, nodeLabels("disk", "ssd", "zone", "a", "cores", "4")))
	e.createNode(t, makeNode("hdd-b", "4", "8Gi", 110, nodeLabels("disk", "hdd", "zone", "b", "cores", "16")))
	e.createPod(t, makePod("selector", "", "", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }))
	e.createPod(t, makePod("notin", "", "", withRequired(expr("zone", corev1.NodeSelectorOpNotIn, "a"))))
	e.createPod(t, makePod("gt", "", "", withRequired(expr("cores", corev1.NodeSelectorOpGt, "8"))))
	e.createPod(t, makePod("fields", "", "", withRequired(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{
		{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd-a"}}}})))
	e.createPod(t, makePod("preferred", "", "", func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{
			{Weight: 100, Preference: expr("zone", corev1.NodeSelectorOpIn, "b")}}}}
	}))
	for name, want := range map[string]string{"selector": "ssd-a", "notin": "hdd-b", "gt": "hdd-b", "fields": "ssd-a", "preferred": "hdd-b"} {
		if node := e.waitBound(t, name); node != want {
			t.Errorf("%s bound to %s, want %s", name, node, want)
		}
	}
	e.createPod(t, makePod("nowhere", "", "", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "nvme"} }))
	e.waitUnschedulable(t, "nowhere", "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")
}

// TestBurstNeverOvercommits creates more pods than the nodes hold at once: the assumed-pod
// cache must keep every node within its pod count.
func TestBurstNeverOvercommits(t *testing.T) {
	e := startEnv(t, fastConfig())
	for i := range 3 {
		e.createNode(t, makeNode(fmt.Sprintf("node-%d", i), "4", "8Gi", 5))
	}
	for i := range 16 {
		e.createPod(t, makePod(fmt.Sprintf("p-%02d", i), "100m", "64Mi"))
	}
	poll.Until(t, 30*time.Second, "15 pods bound", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		list, err := e.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		bound := 0
		for _, p := range list.Items {
			if p.Spec.NodeName != "" {
				bound++
			}
		}
		return bound == 15, nil
	}))
	list, err := e.client.CoreV1().Pods("default").List(e.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	perNode := map[string]int{}
	var pending string
	for _, p := range list.Items {
		if p.Spec.NodeName == "" {
			pending = p.Name
			continue
		}
		perNode[p.Spec.NodeName]++
	}
	for n, c := range perNode {
		if c > 5 {
			t.Errorf("node %s has %d pods, allocatable 5", n, c)
		}
	}
	e.waitUnschedulable(t, pending, "0/3 nodes are available: 3 Too many pods. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.")

	// Deleting a bound pod frees a slot for the pending one.
	for _, p := range list.Items {
		if p.Spec.NodeName != "" {
			if err := e.client.CoreV1().Pods("default").Delete(e.ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	e.waitBound(t, pending)
}

func TestHostPortConflict(t *testing.T) {
	e := startEnv(t, fastConfig())
	e.createNode(t, makeNode("only", "4", "8Gi", 110))
	e.createPod(t, makePod("first", "", "", withHostPort(8080, "", "")))
	e.waitBound(t, "first")
	e.createPod(t, makePod("second", "", "", withHostPort(8080, "", "")))
	e.waitUnschedulable(t, "second", "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.")
	if !strings.Contains(fmt.Sprint(e.sched.cfg.SchedulerName), "default-scheduler") {
		t.Errorf("scheduler name %q", e.sched.cfg.SchedulerName)
	}
}
