package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/nodeagent/simulated"
)

// simNodes are Node objects with renewed Leases, run by the test (the explicit simulated mode of
// the node agent: pods are marked Running, no containers run), so one can be stopped.
type simNodes struct {
	cancel map[string]context.CancelFunc
	done   map[string]chan error
}

func startSimNodes(t *testing.T, s *skiff, names ...string) *simNodes {
	t.Helper()
	cfg := s.restConfig(t)
	cfg.QPS, cfg.Burst = -1, 0
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sn := &simNodes{cancel: map[string]context.CancelFunc{}, done: map[string]chan error{}}
	for i, name := range names {
		node, err := simulated.New(simulated.Config{Name: name, Client: client, PodCIDR: fmt.Sprintf("10.244.%d.0/24", i),
			LeaseDuration: 4 * time.Second, RenewInterval: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- node.Start(ctx) }()
		sn.cancel[name], sn.done[name] = cancel, done
	}
	t.Cleanup(func() {
		for name := range sn.cancel {
			sn.stop(name)
		}
	})
	return sn
}

// stop ends a node's heartbeats and pod handling, as if its machine died.
func (sn *simNodes) stop(name string) {
	if cancel, ok := sn.cancel[name]; ok {
		cancel()
		<-sn.done[name]
		delete(sn.cancel, name)
	}
}

// podNodes maps each non-terminating pod matching selector in ns to its node ("" if unbound).
func podNodes(t *testing.T, s *skiff, ns, selector string) map[string]string {
	t.Helper()
	out := s.ok(t, "get", "pods", "-n", ns, "-l", selector, "-o",
		`jsonpath={range .items[*]}{.metadata.name}|{.spec.nodeName}|{.metadata.deletionTimestamp}{"\n"}{end}`)
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 3 || f[2] != "" {
			continue // empty, or terminating
		}
		m[f[0]] = f[1]
	}
	return m
}

func deployment(name string, replicas int, image, extraSpec string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: %[2]d
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: main
        image: %[3]s
        resources:
          requests: {cpu: 10m, memory: 16Mi}
%[4]s`, name, replicas, image, extraSpec)
}

// TestControllers drives the controllers through kubectl as on Kubernetes: Node objects with
// renewed Leases stand in for machines.
func TestControllers(t *testing.T) {
	longScenario(t)
	s := startSkiffT(t, t.TempDir(), "--node-monitor-grace-period=4s", "--node-monitor-period=1s")
	nodes := startSimNodes(t, s, "node-a", "node-b", "node-c", "node-lost")
	eventually(t, 30*time.Second, func() error {
		out := s.ok(t, "get", "nodes", "--no-headers")
		if n := strings.Count(out, " Ready "); n != 4 {
			return fmt.Errorf("%d nodes Ready:\n%s", n, out)
		}
		return nil
	})

	t.Run("deployment spreads over nodes, scales, recreates pods", func(t *testing.T) {
		ns := s.namespace(t)
		s.okIn(t, deployment("web", 3, "nginx:1.25", ""), "apply", "-n", ns, "-f", "-")
		s.ok(t, "rollout", "status", "-n", ns, "deploy/web", "--timeout=60s")
		pods := podNodes(t, s, ns, "app=web")
		distinct := map[string]bool{}
		for _, n := range pods {
			distinct[n] = true
		}
		if len(pods) != 3 || len(distinct) != 3 {
			t.Fatalf("3 replicas should be on 3 nodes, got %v", pods)
		}
		s.ok(t, "scale", "-n", ns, "deploy/web", "--replicas=30")
		s.ok(t, "rollout", "status", "-n", ns, "deploy/web", "--timeout=90s")
		if got := len(podNodes(t, s, ns, "app=web")); got != 30 {
			t.Fatalf("after scaling to 30: %d pods", got)
		}
		s.ok(t, "scale", "-n", ns, "deploy/web", "--replicas=1")
		eventually(t, 60*time.Second, func() error {
			if got := len(podNodes(t, s, ns, "app=web")); got != 1 {
				return fmt.Errorf("%d pods after scaling to 1", got)
			}
			return nil
		})
		var victim string
		for name := range podNodes(t, s, ns, "app=web") {
			victim = name
		}
		s.ok(t, "delete", "pod", "-n", ns, victim)
		eventually(t, 30*time.Second, func() error {
			pods := podNodes(t, s, ns, "app=web")
			if _, old := pods[victim]; old || len(pods) != 1 {
				return fmt.Errorf("pods after deleting %s: %v", victim, pods)
			}
			return nil
		})
	})

	t.Run("rolling update completes and undo restores the old template", func(t *testing.T) {
		ns := s.namespace(t)
		s.okIn(t, deployment("app", 4, "nginx:1.25", ""), "apply", "-n", ns, "-f", "-")
		s.ok(t, "rollout", "status", "-n", ns, "deploy/app", "--timeout=60s")
		s.ok(t, "set", "image", "-n", ns, "deploy/app", "main=nginx:1.26")
		out := s.ok(t, "rollout", "status", "-n", ns, "deploy/app", "--timeout=90s")
		if !strings.Contains(out, `deployment "app" successfully rolled out`) {
			t.Fatalf("rollout status: %s", out)
		}
		hist := s.ok(t, "rollout", "history", "-n", ns, "deploy/app")
		if !strings.Contains(hist, "1 ") || !strings.Contains(hist, "2 ") {
			t.Fatalf("rollout history lacks revisions 1 and 2:\n%s", hist)
		}
		s.ok(t, "rollout", "undo", "-n", ns, "deploy/app")
		s.ok(t, "rollout", "status", "-n", ns, "deploy/app", "--timeout=90s")
		img := s.ok(t, "get", "-n", ns, "deploy/app", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.metadata.annotations.deployment\\.kubernetes\\.io/revision}")
		if img != "nginx:1.25 3" {
			t.Fatalf("after undo: image and revision %q, want \"nginx:1.25 3\"", img)
		}
		rs := s.ok(t, "get", "rs", "-n", ns, "--no-headers")
		if strings.Count(strings.TrimSpace(rs), "\n") != 1 {
			t.Fatalf("want 2 ReplicaSets (one scaled to 0):\n%s", rs)
		}
	})

	t.Run("controller and scheduler metrics are on the API server's /metrics", func(t *testing.T) {
		out := s.ok(t, "get", "--raw", "/metrics")
		for _, want := range []string{`scheduler_schedule_attempts_total{profile="default-scheduler",result="scheduled"}`,
			"scheduler_scheduling_attempt_duration_seconds_bucket", "scheduler_pending_pods",
			`controller_runtime_reconcile_total{controller="replicaset"`, "apiserver_request_total"} {
			if !strings.Contains(out, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})

	t.Run("a pod too big for every node stays Pending with upstream's message", func(t *testing.T) {
		ns := s.namespace(t)
		s.okIn(t, `apiVersion: v1
kind: Pod
metadata: {name: big}
spec:
  containers:
  - name: main
    image: nginx
    resources: {requests: {cpu: "64"}}
`, "apply", "-n", ns, "-f", "-")
		want := "0/4 nodes are available: 4 Insufficient cpu."
		eventually(t, 30*time.Second, func() error {
			msg := s.ok(t, "get", "pod", "-n", ns, "big", "-o", `jsonpath={.status.conditions[?(@.type=="PodScheduled")].reason}: {.status.conditions[?(@.type=="PodScheduled")].message}`)
			if !strings.HasPrefix(msg, "Unschedulable: "+want) {
				return fmt.Errorf("PodScheduled condition %q, want Unschedulable: %s", msg, want)
			}
			return nil
		})
		desc := s.ok(t, "describe", "pod", "-n", ns, "big")
		if !strings.Contains(desc, "FailedScheduling") || !strings.Contains(desc, want) {
			t.Fatalf("describe lacks the FailedScheduling event:\n%s", desc)
		}
	})

	t.Run("a tainted node gets only tolerating pods", func(t *testing.T) {
		ns := s.namespace(t)
		s.ok(t, "taint", "nodes", "node-a", "dedicated=infra:NoSchedule")
		defer s.ok(t, "taint", "nodes", "node-a", "dedicated=infra:NoSchedule-")
		s.okIn(t, deployment("plain", 6, "nginx", ""), "apply", "-n", ns, "-f", "-")
		s.okIn(t, deployment("infra", 2, "nginx", `      nodeSelector: {kubernetes.io/hostname: node-a}
      tolerations:
      - {key: dedicated, operator: Equal, value: infra, effect: NoSchedule}
`), "apply", "-n", ns, "-f", "-")
		s.ok(t, "rollout", "status", "-n", ns, "deploy/plain", "--timeout=60s")
		s.ok(t, "rollout", "status", "-n", ns, "deploy/infra", "--timeout=60s")
		for pod, node := range podNodes(t, s, ns, "app=plain") {
			if node == "node-a" {
				t.Errorf("pod %s without toleration landed on the tainted node", pod)
			}
		}
		for pod, node := range podNodes(t, s, ns, "app=infra") {
			if node != "node-a" {
				t.Errorf("tolerating pod %s with nodeSelector landed on %s", pod, node)
			}
		}
	})

	t.Run("foreground cascade removes ReplicaSets and pods before the Deployment", func(t *testing.T) {
		ns := s.namespace(t)
		s.okIn(t, deployment("fg", 2, "nginx", ""), "apply", "-n", ns, "-f", "-")
		s.ok(t, "rollout", "status", "-n", ns, "deploy/fg", "--timeout=60s")
		s.ok(t, "delete", "-n", ns, "deploy/fg", "--cascade=foreground", "--timeout=60s")
		if out := s.ok(t, "get", "rs,pods", "-n", ns, "--no-headers", "--ignore-not-found"); strings.TrimSpace(out) != "" {
			t.Fatalf("dependents left after the Deployment was gone:\n%s", out)
		}
		s.okIn(t, deployment("orphan", 1, "nginx", ""), "apply", "-n", ns, "-f", "-")
		s.ok(t, "rollout", "status", "-n", ns, "deploy/orphan", "--timeout=60s")
		s.ok(t, "delete", "-n", ns, "deploy/orphan", "--cascade=orphan")
		refs := s.ok(t, "get", "rs", "-n", ns, "-l", "app=orphan", "-o", "jsonpath={.items[*].metadata.ownerReferences}")
		if strings.TrimSpace(refs) != "" {
			t.Fatalf("orphaned ReplicaSet still has ownerReferences: %s", refs)
		}
	})

	t.Run("deleting a namespace removes its contents", func(t *testing.T) {
		ns := s.namespace(t)
		s.okIn(t, deployment("doomed", 2, "nginx", ""), "apply", "-n", ns, "-f", "-")
		s.ok(t, "create", "configmap", "-n", ns, "cfg", "--from-literal=a=b")
		s.ok(t, "rollout", "status", "-n", ns, "deploy/doomed", "--timeout=60s")
		s.ok(t, "delete", "namespace", ns, "--timeout=90s")
		if out := s.kubectl(t, "get", "namespace", ns); out.err == nil {
			t.Fatalf("namespace %s still exists:\n%s", ns, out)
		}
	})

	t.Run("a node that stops renewing its Lease goes NotReady and its pods move", func(t *testing.T) {
		ns := s.namespace(t)
		// Short tolerations, so eviction does not wait upstream's default 300 s.
		s.okIn(t, deployment("mobile", 4, "nginx", `      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
`), "apply", "-n", ns, "-f", "-")
		s.ok(t, "rollout", "status", "-n", ns, "deploy/mobile", "--timeout=60s")
		nodes.stop("node-lost")
		eventually(t, 30*time.Second, func() error {
			out := s.ok(t, "get", "node", "node-lost", "--no-headers")
			if !strings.Contains(out, "NotReady") {
				return fmt.Errorf("node-lost: %s", out)
			}
			taints := s.ok(t, "get", "node", "node-lost", "-o", "jsonpath={.spec.taints}")
			if !strings.Contains(taints, "node.kubernetes.io/unreachable") || !strings.Contains(taints, "NoExecute") {
				return fmt.Errorf("node-lost taints: %s", taints)
			}
			return nil
		})
		eventually(t, 60*time.Second, func() error {
			pods := podNodes(t, s, ns, "app=mobile")
			running := 0
			for pod, node := range pods {
				if node == "node-lost" {
					return fmt.Errorf("pod %s still on the lost node", pod)
				}
				if node != "" {
					running++
				}
			}
			if running != 4 {
				return fmt.Errorf("%d of 4 pods placed elsewhere: %v", running, pods)
			}
			return nil
		})
	})
}
