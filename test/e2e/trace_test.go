package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/test/poll"
)

// TestTraceOfAPod is issue 16's trace on a real node: `kubectl create deployment` of 3
// replicas behind a Service, then `skiff trace pod/NAME` draws every component's column in
// order (the endpoints controller among the controllers, the proxy last), the critical path
// from the pod's creation to the status write that made it Ready sums to the startup time
// measured by a watch (ADDED → Ready observed) within 10%, and after that write the endpoints
// controller's slice write and the proxy's rules name the pod as ready.
func TestTraceOfAPod(t *testing.T) {
	longScenario(t)
	// No node-pressure eviction: the trace is of a pod's start, which a shared machine's
	// nearly full disk must not turn into evictions.
	s := startNodeT(t, t.TempDir(), "trace-node", "10.244.244.0/24", "--eviction-hard=")
	ns := s.namespace(t)
	// Before the node stops (cleanups run last registered first): no containers left behind.
	t.Cleanup(func() { s.kubectl(t, "delete", "namespace", ns, "--timeout=60s") })
	t.Cleanup(func() {
		if t.Failed() {
			out := s.kubectl(t, "-n", ns, "get", "pods,endpointslices,events", "-o", "wide")
			t.Logf("after the failure:\n%s%s\nlog:\n%s", out.stdout, out.stderr, s.logTail())
		}
	})
	client := kubernetes.NewForConfigOrDie(s.restConfig(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	added, ready := map[string]time.Time{}, map[string]time.Time{}
	go func() {
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			now := time.Now()
			mu.Lock()
			if _, seen := added[pod.Name]; !seen && ev.Type == watch.Added {
				added[pod.Name] = now
			}
			for _, c := range pod.Status.Conditions {
				if _, seen := ready[pod.Name]; !seen && c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready[pod.Name] = now
				}
			}
			mu.Unlock()
		}
	}()
	// The Service selects the deployment's pods (app=web).
	s.ok(t, "-n", ns, "create", "service", "clusterip", "web", "--tcp=80:8080")
	s.ok(t, "-n", ns, "create", "deployment", "web", "--image=busybox", "--replicas=3", "--", "sleep", "3600")
	poll.Until(t, 2*time.Minute, "3 pods Ready", poll.Check(func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(ready) == 3, fmt.Sprintf("%d Ready", len(ready))
	}))
	mu.Lock()
	var name string
	for n := range ready {
		name = n
	}
	measured := ready[name].Sub(added[name])
	mu.Unlock()

	run := func(args ...string) string {
		out, err := exec.Command(skiffBin, append([]string{"trace", "--kubeconfig", s.kubeconfig, "-n", ns, "pod/" + name}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("skiff trace: %v\n%s", err, out)
		}
		return string(out)
	}
	// The endpoints controller and the proxy record their part after the agent's: wait for
	// the proxy's span before drawing the diagram.
	var resp trace.Response
	poll.Until(t, 30*time.Second, "the proxy's span about the pod", poll.Check(func() (bool, string) {
		resp = trace.Response{}
		if err := json.Unmarshal([]byte(run("-o", "json")), &resp); err != nil {
			t.Fatal(err)
		}
		for _, sp := range resp.Spans {
			if sp.Component == trace.ComponentProxy && sp.Attributes[trace.AttrWatchEvent] == "" { // not a delivery to it
				return true, ""
			}
		}
		return false, fmt.Sprintf("no proxy span in %d spans", len(resp.Spans))
	}))
	diagram := run()
	t.Logf("skiff trace pod/%s:\n%s", name, diagram)
	columnsInOrder(t, diagram, "kubectl", "apiserver", "etcd", "ctl:deployment", "ctl:replicaset", "ctl:endpoints", "scheduler",
		"agent:trace-node", "runtime", "proxy")
	// From the API server's create of the pod to the agent's status write that made it Ready.
	var uid string
	var from, to time.Time
	for _, sp := range resp.Spans {
		if sp.Component == trace.ComponentAPIServer && sp.Attributes[trace.AttrName] == name && sp.Attributes["k8s.subresource"] == "" && from.IsZero() {
			from, uid = sp.Start, sp.Attributes[trace.AttrUID]
		}
	}
	mu.Lock()
	readyAt := ready[name]
	mu.Unlock()
	var readyWrite time.Time
	for _, sp := range resp.Spans {
		// The watch may see the write before the agent has its answer: the last write started
		// before Ready was seen.
		if sp.Name == "write status" && sp.Attributes[trace.AttrUID] == uid && sp.Start.Before(readyAt) {
			readyWrite, to = sp.Start, sp.End
		}
	}
	t.Run("endpoints and proxy after the agent", func(t *testing.T) {
		// The first slice write and proxy sync that name the pod ready, after the agent's
		// status write that made it Ready.
		var slice, rules *trace.Span
		for i, sp := range resp.Spans {
			related := slices.Contains(strings.Split(sp.Attributes[trace.AttrRelatedUIDs], ","), uid)
			switch {
			case !related || readyWrite.IsZero() || sp.Start.Before(readyWrite) || !strings.Contains(sp.Name, "ready"):
			case sp.Component == trace.Controller("endpoints") && slice == nil:
				slice = &resp.Spans[i]
			case sp.Component == trace.ComponentProxy && slice != nil && sp.Start.After(slice.Start) && rules == nil:
				rules = &resp.Spans[i]
			}
		}
		if slice == nil || rules == nil {
			t.Fatalf("after the Ready status write at %v: endpoints controller's slice write %v, proxy's sync %v",
				readyWrite, slice, rules)
		}
		t.Logf("%s at +%v, %s at +%v after the status write", slice.Name, slice.Start.Sub(readyWrite), rules.Name,
			rules.Start.Sub(readyWrite))
		var watched []string
		for _, sp := range resp.Spans {
			if sp.Name == trace.WatchSpanName("Pod") && sp.Attributes[trace.AttrUID] == uid && !slices.Contains(watched, sp.Component) {
				watched = append(watched, sp.Component)
			}
		}
		slices.Sort(watched)
		// Not the replicationcontroller controller's: it enqueues nothing for a ReplicaSet's pod
		// (nor the deployment controller's, before a pod ends).
		if want := []string{"agent:trace-node", "controller:endpoints", "controller:replicaset", "scheduler"}; !slices.Equal(watched, want) {
			t.Errorf("pod watch events delivered to %v, want %v", watched, want)
		}
		// Each delivery is joined with the etcd commit of the version it delivered: the agent
		// received its pod after the binding's commit.
		var agentGot []string
		for _, sp := range trace.JoinDeliveries(resp.Spans) {
			if d, ok := trace.AfterCommit(sp); ok && sp.Component == "agent:trace-node" && sp.Attributes[trace.AttrUID] == uid {
				agentGot = append(agentGot, fmt.Sprintf("%s rv%s %v", sp.Attributes[trace.AttrWatchEvent], sp.Attributes[trace.AttrResourceVersion], d))
				if d < -time.Millisecond || d > 10*time.Second {
					t.Errorf("the agent got version %s of its pod %v after its commit", sp.Attributes[trace.AttrResourceVersion], d)
				}
			}
		}
		t.Logf("the agent's deliveries of its pod after their commits: %v", agentGot)
		if len(agentGot) == 0 || !strings.Contains(diagram, "after the etcd commit") {
			t.Errorf("no delivery of the pod to the agent joined with its commit (%v), or none in the diagram", agentGot)
		}
	})
	if from.IsZero() || to.IsZero() || t.Failed() {
		for _, sp := range resp.Spans {
			t.Logf("span %s %s %s caller %s parent %s link %s %v", sp.SpanID, sp.Component, sp.Name, sp.Caller, sp.ParentSpanID, sp.LinkSpanID, sp.Attributes)
		}
	}
	if from.IsZero() || to.IsZero() {
		t.Fatalf("no create span or Ready status write for %s (uid %s) in %d spans", name, uid, len(resp.Spans))
	}
	var window []trace.Span
	for _, sp := range resp.Spans {
		if !sp.Start.Before(from) && !sp.End.After(to) {
			window = append(window, sp)
		}
	}
	sum := trace.Sum(window, trace.CriticalPath(window))
	t.Logf("startup measured by the watch %v; critical path %v; create → Ready write %v", measured, sum, to.Sub(from))
	if d := sum - measured; d < -measured/10 || d > measured/10 {
		t.Errorf("critical path %v is not within 10%% of the measured startup %v", sum, measured)
	}
}

// TestTraceOfARollout is issue 16's rollout story on a real node: after `kubectl set image`,
// `skiff trace deployment/NAME` shows the Deployment controller's reconciles, the new
// ReplicaSet created, both ReplicaSets scaled, the new pods scheduled and started and the old
// ones terminated by the agent (its "terminate Pod" span and the runtime's StopContainer), in
// time order. Then, on the same node, the stories of a pod deleted and replaced (traced once it
// is gone) and of a PodKill Fault.
func TestTraceOfARollout(t *testing.T) {
	longScenario(t)
	// The story is a rollout's, not the node's pressure: the shared test machine's disk, often
	// past the 10% nodefs default, must not evict the pods.
	s := startNodeT(t, t.TempDir(), "rollout-node", "10.244.251.0/24", "--eviction-hard=memory.available<100Mi")
	ns := s.namespace(t)
	t.Cleanup(func() { s.kubectl(t, "delete", "namespace", ns, "--timeout=60s") })
	s.okIn(t, deployment("web", 2, "busybox", "        command: [sleep, \"3600\"]\n      terminationGracePeriodSeconds: 1\n"), "apply", "-n", ns, "-f", "-")
	client := kubernetes.NewForConfigOrDie(s.restConfig(t))
	ctx := context.Background()
	rolledOut := func(t *testing.T) {
		t.Helper()
		err := poll.Wait(ctx, 3*time.Minute, poll.Check(func() (bool, string) {
			d, err := client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			st := d.Status
			return st.ObservedGeneration == d.Generation && st.UpdatedReplicas == 2 && st.AvailableReplicas == 2 && st.Replicas == 2,
				fmt.Sprintf("%+v", st)
		}))
		if err != nil {
			t.Logf("pods:\n%s\nevents:\n%s", s.kubectl(t, "describe", "pods", "-n", ns).stdout, s.kubectl(t, "get", "events", "-n", ns).stdout)
			t.Fatalf("the Deployment rolled out: %v", err)
		}
	}
	rolledOut(t)
	list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("pods before the rollout: %v %v", list, err)
	}
	old := map[string]bool{}
	for _, p := range list.Items {
		old[string(p.UID)] = true
	}
	// The same image by its full name: a new template, a new ReplicaSet.
	s.ok(t, "set", "image", "-n", ns, "deployment/web", "main=docker.io/library/busybox:latest")
	rolledOut(t)
	poll.Until(t, 90*time.Second, "the old pods gone", poll.Check(func() (bool, string) {
		l, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err.Error()
		}
		for _, p := range l.Items {
			if old[string(p.UID)] {
				return false, "old pod " + p.Name + " still there"
			}
		}
		return len(l.Items) == 2, fmt.Sprintf("%d pods", len(l.Items))
	}))
	run := func(args ...string) string {
		out, err := exec.Command(skiffBin, append([]string{"trace", "--kubeconfig", s.kubeconfig, "-n", ns, "deployment/web"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("skiff trace: %v\n%s", err, out)
		}
		return string(out)
	}
	diagram := run()
	t.Logf("skiff trace deployment/web:\n%s", diagram)
	columnsInOrder(t, diagram, "kubectl", "apiserver", "etcd", "ctl:deployment", "ctl:replicaset", "scheduler", "agent:rollout-node", "runtime")
	var resp trace.Response
	if err := json.Unmarshal([]byte(run("-o", "json")), &resp); err != nil {
		t.Fatal(err)
	}
	spans := resp.Spans
	newRS, err := client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	var newRSUID string
	for _, rs := range newRS.Items {
		if rs.Spec.Template.Spec.Containers[0].Image == "docker.io/library/busybox:latest" {
			newRSUID = string(rs.UID)
		}
	}
	setImage := firstSpan(t, spans, "the set image patch", func(sp trace.Span) bool {
		return sp.Attributes["http.request.method"] == "PATCH" && sp.Attributes[trace.AttrKind] == "Deployment"
	})
	reconcile := firstSpan(t, spans, "a Deployment reconcile after it", after(setImage, func(sp trace.Span) bool { return sp.Name == "reconcile Deployment" }))
	created := firstSpan(t, spans, "the new ReplicaSet created", after(reconcile, func(sp trace.Span) bool {
		return sp.Attributes["http.request.method"] == "POST" && sp.Attributes[trace.AttrUID] == newRSUID
	}))
	newPod := firstSpan(t, spans, "a new pod created by the new ReplicaSet", after(created, func(sp trace.Span) bool {
		return sp.Name == "reconcile ReplicaSet" && sp.Attributes[trace.AttrUID] == newRSUID && sp.Attributes[trace.AttrEffectUIDs] != ""
	}))
	scheduled := firstSpan(t, spans, "a new pod scheduled", after(newPod, func(sp trace.Span) bool {
		return sp.Name == "schedule Pod" && sp.Attributes[trace.AttrOwnerUIDs] == newRSUID
	}))
	started := firstSpan(t, spans, "a container started", after(scheduled, func(sp trace.Span) bool { return sp.Name == "StartContainer" }))
	scaledDown := firstSpan(t, spans, "the old ReplicaSet scaled down", after(started, func(sp trace.Span) bool {
		return sp.Attributes["http.request.method"] == "PUT" && sp.Attributes[trace.AttrKind] == "ReplicaSet" && sp.Attributes[trace.AttrUID] != newRSUID &&
			sp.Attributes["k8s.subresource"] == ""
	}))
	terminated := firstSpan(t, spans, "an old pod terminated by the agent", after(scaledDown, func(sp trace.Span) bool {
		return sp.Name == "terminate Pod" && old[sp.Attributes[trace.AttrUID]]
	}))
	firstSpan(t, spans, "its container stopped", after(terminated, func(sp trace.Span) bool { return sp.Name == "StopContainer" }))
	for uid := range old {
		firstSpan(t, spans, "pod "+uid+" terminated", func(sp trace.Span) bool { return sp.Name == "terminate Pod" && sp.Attributes[trace.AttrUID] == uid })
		firstSpan(t, spans, "pod "+uid+" deleted", func(sp trace.Span) bool {
			return sp.Attributes["http.request.method"] == "DELETE" && sp.Attributes[trace.AttrUID] == uid
		})
	}

	// A pod that dies and is replaced: once it is gone, `skiff trace pod/OLD` finds it by name
	// and tells its deletion, the agent's termination, the ReplicaSet's sync that replaced it
	// and the replacement's start.
	t.Run("a pod replaced", func(t *testing.T) {
		l, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil || len(l.Items) == 0 {
			t.Fatalf("pods: %v %v", l, err)
		}
		victim := l.Items[0]
		s.ok(t, "delete", "pod", "-n", ns, victim.Name)
		rolledOut(t)
		out, err := exec.Command(skiffBin, "trace", "--kubeconfig", s.kubeconfig, "-n", ns, "pod/"+victim.Name, "-o", "json").CombinedOutput()
		if err != nil {
			t.Fatalf("skiff trace pod/%s: %v\n%s", victim.Name, err, out)
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatal(err)
		}
		spans = resp.Spans
		uid := string(victim.UID)
		deleted := firstSpan(t, spans, "the kubectl delete (the first delete)", func(sp trace.Span) bool {
			return sp.Attributes["http.request.method"] == "DELETE" && sp.Attributes[trace.AttrUID] == uid
		})
		var replacement string
		replaced := firstSpan(t, spans, "the ReplicaSet's sync replacing it", after(deleted, func(sp trace.Span) bool {
			if sp.Name == "reconcile ReplicaSet" && strings.Contains(sp.Attributes[trace.AttrCauseUIDs], uid) {
				replacement = strings.Split(sp.Attributes[trace.AttrEffectUIDs], ",")[0]
				return true
			}
			return false
		}))
		firstSpan(t, spans, "the agent's termination of the pod", after(deleted, func(sp trace.Span) bool {
			return sp.Name == "terminate Pod" && sp.Attributes[trace.AttrUID] == uid
		}))
		scheduled := firstSpan(t, spans, "the replacement scheduled", after(replaced, func(sp trace.Span) bool {
			return sp.Name == "schedule Pod" && sp.Attributes[trace.AttrUID] == replacement
		}))
		firstSpan(t, spans, "the replacement's sync on the node", after(scheduled, func(sp trace.Span) bool {
			return sp.Name == "sync Pod" && sp.Attributes[trace.AttrUID] == replacement
		}))
	})

	// A PodKill Fault: `skiff trace fault/NAME` tells its start naming the pod, the agent's kill
	// and the runtime's stop, and the pod's container started again.
	t.Run("a PodKill fault", func(t *testing.T) {
		l, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil || len(l.Items) == 0 {
			t.Fatalf("pods: %v %v", l, err)
		}
		victim := l.Items[0]
		s.okIn(t, `apiVersion: chaos.skiff.dev/v1alpha1
kind: Fault
metadata: {name: kill-one}
spec:
  type: PodKill
  podKill: {podName: `+victim.Name+`}
`, "apply", "-n", ns, "-f", "-")
		poll.Until(t, 2*time.Minute, "the container killed and restarted", poll.Check(func() (bool, string) {
			p, err := client.CoreV1().Pods(ns).Get(ctx, victim.Name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			cs := p.Status.ContainerStatuses
			return len(cs) == 1 && cs[0].RestartCount >= 1 && cs[0].Ready, fmt.Sprintf("%+v", cs)
		}))
		out, err := exec.Command(skiffBin, "trace", "--kubeconfig", s.kubeconfig, "-n", ns, "fault/kill-one").CombinedOutput()
		if err != nil {
			t.Fatalf("skiff trace fault/kill-one: %v\n%s", err, out)
		}
		t.Logf("skiff trace fault/kill-one:\n%s", out)
		out, err = exec.Command(skiffBin, "trace", "--kubeconfig", s.kubeconfig, "-n", ns, "fault/kill-one", "-o", "json").CombinedOutput()
		if err != nil {
			t.Fatalf("skiff trace fault/kill-one -o json: %v\n%s", err, out)
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatal(err)
		}
		spans = resp.Spans
		uid := string(victim.UID)
		started := firstSpan(t, spans, "the fault started, naming the pod", func(sp trace.Span) bool {
			return sp.Name == "reconcile Fault" && sp.Attributes[trace.AttrEffectUIDs] == uid
		})
		killed := firstSpan(t, spans, "the agent's kill", after(started, func(sp trace.Span) bool {
			return sp.Name == "kill containers" && sp.Component == "agent:rollout-node" && sp.Attributes[trace.AttrUID] == uid
		}))
		stopped := firstSpan(t, spans, "the runtime's stop", after(killed, func(sp trace.Span) bool { return sp.Name == "StopContainer" }))
		firstSpan(t, spans, "the container started again", after(stopped, func(sp trace.Span) bool { return sp.Name == "StartContainer" }))
	})
}

// columnsInOrder checks that a `skiff trace` diagram's header has these columns, in this order.
func columnsInOrder(t *testing.T, diagram string, cols ...string) {
	t.Helper()
	header := strings.SplitN(diagram, "\n", 2)[0]
	last := -1
	for _, col := range cols {
		i := strings.Index(header, col)
		if i < 0 || i < last {
			t.Errorf("column %q missing or out of order in %q", col, header)
		}
		last = i
	}
}

// firstSpan is the start of the first of spans that matches; the test fails when none does.
func firstSpan(t *testing.T, spans []trace.Span, what string, match func(trace.Span) bool) time.Time {
	t.Helper()
	for _, sp := range spans {
		if match(sp) {
			return sp.Start
		}
	}
	for _, sp := range spans {
		t.Logf("span %s %s %s %v", sp.Start.Format("15:04:05.000"), sp.Component, sp.Name, sp.Attributes)
	}
	t.Fatalf("no span: %s", what)
	return time.Time{}
}

// after matches the spans that match and start at t0 or later.
func after(t0 time.Time, match func(trace.Span) bool) func(trace.Span) bool {
	return func(sp trace.Span) bool { return !sp.Start.Before(t0) && match(sp) }
}
