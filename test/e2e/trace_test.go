package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
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
// replicas, then `skiff trace pod/NAME` draws every component's column in order, and the
// critical path from the pod's creation to the status write that made it Ready sums to the
// startup time measured by a watch (ADDED → Ready observed) within 10%.
func TestTraceOfAPod(t *testing.T) {
	longScenario(t)
	s := startNodeT(t, t.TempDir(), "trace-node", "10.244.244.0/24")
	ns := s.namespace(t)
	// Before the node stops (cleanups run last registered first): no containers left behind.
	t.Cleanup(func() { s.kubectl(t, "delete", "namespace", ns, "--timeout=60s") })
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
	diagram := run()
	t.Logf("skiff trace pod/%s:\n%s", name, diagram)
	header := strings.SplitN(diagram, "\n", 2)[0]
	last := -1
	for _, col := range []string{"kubectl", "apiserver", "etcd", "ctl:deployment", "ctl:replicaset", "scheduler", "agent:trace-node", "runtime"} {
		i := strings.Index(header, col)
		if i < 0 || i < last {
			t.Errorf("column %q missing or out of order in %q", col, header)
		}
		last = i
	}
	var resp trace.Response
	if err := json.Unmarshal([]byte(run("-o", "json")), &resp); err != nil {
		t.Fatal(err)
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
	for _, sp := range resp.Spans {
		// The watch may see the write before the agent has its answer: the last write started
		// before Ready was seen.
		if sp.Name == "write status" && sp.Attributes[trace.AttrUID] == uid && sp.Start.Before(readyAt) {
			to = sp.End
		}
	}
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
