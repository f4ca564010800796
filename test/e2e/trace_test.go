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
			if sp.Component == trace.ComponentProxy {
				return true, ""
			}
		}
		return false, fmt.Sprintf("no proxy span in %d spans", len(resp.Spans))
	}))
	diagram := run()
	t.Logf("skiff trace pod/%s:\n%s", name, diagram)
	header := strings.SplitN(diagram, "\n", 2)[0]
	last := -1
	for _, col := range []string{"kubectl", "apiserver", "etcd", "ctl:deployment", "ctl:replicaset", "ctl:endpoints", "scheduler",
		"agent:trace-node", "runtime", "proxy"} {
		i := strings.Index(header, col)
		if i < 0 || i < last {
			t.Errorf("column %q missing or out of order in %q", col, header)
		}
		last = i
	}
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
		// Not the replicationcontroller controller's: it enqueues nothing for a ReplicaSet's pod.
		if want := []string{"controller:endpoints", "controller:replicaset", "scheduler"}; !slices.Equal(watched, want) {
			t.Errorf("pod watch events delivered to %v, want %v", watched, want)
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
