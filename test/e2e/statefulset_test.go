package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// testStatefulSet runs a StatefulSet on a real node with kubectl: its pods come up in order
// (web-1 is created only once web-0 is Ready) under stable names, each answers at its own DNS
// name through the headless Service (web-0.web.NS.svc.cluster.local, asked from the pod client,
// which runs the builtin busybox), a deleted pod comes back under its name and its DNS name
// follows the new IP, a template change rolls out from the highest ordinal down (`kubectl rollout
// status`), and scaling down removes the highest ordinal first. `kubectl explain` knows the
// workload kinds' fields.
func testStatefulSet(t *testing.T, s *skiff, ns, image, client string) {
	t.Cleanup(func() {
		s.kubectl(t, "delete", "statefulset", "web", "-n", ns, "--cascade=foreground", "--timeout=90s")
	})
	s.okIn(t, `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: `+image+`
        command: [sh, -c, "touch /tmp/ready; exec sleep 3600"]
        readinessProbe:
          exec: {command: [cat, /tmp/ready]}
          periodSeconds: 1
`, "apply", "-n", ns, "-f", "-")
	s.ok(t, "rollout", "status", "statefulset/web", "-n", ns, "--timeout=120s")

	// OrderedReady: web-1 was created after web-0 became Ready.
	ready0 := s.ok(t, "get", "pod", "web-0", "-n", ns, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].lastTransitionTime}`)
	created1 := s.ok(t, "get", "pod", "web-1", "-n", ns, "-o", "jsonpath={.metadata.creationTimestamp}")
	t0, err0 := time.Parse(time.RFC3339, ready0)
	t1, err1 := time.Parse(time.RFC3339, created1)
	if err0 != nil || err1 != nil || t1.Before(t0) {
		t.Errorf("web-1 created at %q, before web-0 was Ready at %q", created1, ready0)
	}
	if out := s.ok(t, "get", "statefulset", "web", "-n", ns); !strings.Contains(out, "2/2") {
		t.Errorf("kubectl get statefulset web:\n%s", out)
	}

	// Per-pod DNS names through the headless Service.
	resolves := func(name, ip string) func() error {
		return func() error {
			out := s.kubectl(t, "exec", "-n", ns, client, "--", "nslookup", name)
			if out.err != nil || !strings.Contains(out.stdout, ip) {
				return fmt.Errorf("nslookup %s (want %s): %v %s %s", name, ip, out.err, out.stdout, out.stderr)
			}
			return nil
		}
	}
	for _, pod := range []string{"web-0", "web-1"} {
		ip := s.ok(t, "get", "pod", pod, "-n", ns, "-o", "jsonpath={.status.podIP}")
		eventually(t, 30*time.Second, resolves(pod+".web."+ns+".svc.cluster.local", ip))
	}

	// A deleted pod comes back under its name; its DNS name follows.
	uid := s.ok(t, "get", "pod", "web-0", "-n", ns, "-o", "jsonpath={.metadata.uid}")
	s.ok(t, "delete", "pod", "web-0", "-n", ns, "--timeout=60s")
	eventually(t, 60*time.Second, func() error {
		out := s.kubectl(t, "get", "pod", "web-0", "-n", ns, "-o", `jsonpath={.metadata.uid} {.status.conditions[?(@.type=="Ready")].status}`)
		if out.err != nil || strings.HasPrefix(out.stdout, uid) || !strings.HasSuffix(out.stdout, " True") {
			return fmt.Errorf("web-0 not recreated and Ready: %v %s", out.err, out.stdout)
		}
		return nil
	})
	ip := s.ok(t, "get", "pod", "web-0", "-n", ns, "-o", "jsonpath={.status.podIP}")
	eventually(t, 30*time.Second, resolves("web-0.web."+ns+".svc.cluster.local", ip))

	// A rolling update: every pod ends on the new revision.
	s.ok(t, "set", "env", "statefulset/web", "-n", ns, "REVISION=2")
	s.ok(t, "rollout", "status", "statefulset/web", "-n", ns, "--timeout=120s")
	for _, pod := range []string{"web-0", "web-1"} {
		if env := s.ok(t, "get", "pod", pod, "-n", ns, "-o", `jsonpath={.spec.containers[0].env[?(@.name=="REVISION")].value}`); env != "2" {
			t.Errorf("%s after the rollout: REVISION=%q", pod, env)
		}
	}
	if out := s.ok(t, "rollout", "history", "statefulset/web", "-n", ns); !strings.Contains(out, "2 ") {
		t.Errorf("kubectl rollout history statefulset/web:\n%s", out)
	}

	for _, field := range []string{"statefulset.spec.serviceName", "daemonset.spec.updateStrategy", "cronjob.spec.timeZone", "pdb.spec.maxUnavailable", "priorityclass.preemptionPolicy"} {
		if out := s.kubectl(t, "explain", field); out.err != nil || !strings.Contains(out.stdout, "FIELD:") {
			t.Errorf("kubectl explain %s: %v\n%s%s", field, out.err, out.stdout, out.stderr)
		}
	}

	// Scaling down removes the highest ordinal.
	s.ok(t, "scale", "statefulset/web", "-n", ns, "--replicas=1")
	eventually(t, 60*time.Second, func() error {
		out := s.ok(t, "get", "pods", "-n", ns, "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}")
		if out != "web-0" {
			return fmt.Errorf("pods after scaling to 1: %q", out)
		}
		return nil
	})
}
