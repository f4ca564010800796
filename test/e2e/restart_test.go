package e2e

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestRestart stops `skiff up` (SIGTERM, or SIGKILL as a crash) and starts it again on the same
// data dir: every object is still there with the same uid, and the server takes writes.
func TestRestart(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(t *testing.T, s *skiff)
	}{
		{"SIGTERM", func(t *testing.T, s *skiff) {
			if err := s.stop(); err != nil {
				t.Fatal(err)
			}
		}},
		{"SIGKILL", func(t *testing.T, s *skiff) { s.kill() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := startSkiffT(t, dir)
			ns := s.namespace(t)
			s.ok(t, "apply", "-n", ns, "-f", "testdata/app.yaml")
			for i := range 10 {
				s.ok(t, "create", "configmap", fmt.Sprintf("c%d", i), "-n", ns, fmt.Sprintf("--from-literal=i=%d", i))
			}
			s.ok(t, "patch", "deploy", "web", "-n", ns, "--type", "merge", "-p", `{"spec":{"replicas":7}}`)
			// The last write just before the stop must survive even a SIGKILL: etcd syncs
			// before it answers.
			s.ok(t, "label", "pod", "solo", "-n", ns, "last=write")
			before := snapshot(t, s, ns)
			if len(before) < 16 {
				t.Fatalf("snapshot too small: %v", before)
			}
			oldKubeconfig := s.kubeconfig

			tc.stop(t, s)
			s2 := startSkiffT(t, dir)
			if s2.kubeconfig != oldKubeconfig {
				t.Errorf("kubeconfig moved from %s to %s", oldKubeconfig, s2.kubeconfig)
			}
			after := snapshot(t, s2, ns)
			if !maps.Equal(before, after) {
				for _, k := range slices.Sorted(maps.Keys(before)) {
					if after[k] != before[k] {
						t.Errorf("%s: uid %q before, %q after restart", k, before[k], after[k])
					}
				}
				for _, k := range slices.Sorted(maps.Keys(after)) {
					if _, ok := before[k]; !ok {
						t.Errorf("%s appeared after restart", k)
					}
				}
			}
			if got := s2.ok(t, "get", "deploy", "web", "-n", ns, "-o", "jsonpath={.spec.replicas}/{.metadata.generation}"); got != "7/2" {
				t.Errorf("deployment replicas/generation after restart: %s, want 7/2", got)
			}
			if got := s2.ok(t, "get", "pod", "solo", "-n", ns, "-o", "jsonpath={.metadata.labels.last}"); got != "write" {
				t.Errorf("last write lost: label = %q", got)
			}
			// The restarted server takes writes and reads them back.
			s2.ok(t, "create", "configmap", "after", "-n", ns)
			s2.ok(t, "delete", "configmap", "c0", "-n", ns)
			if out := s2.ok(t, "get", "cm", "-n", ns, "-o", "name"); !strings.Contains(out, "configmap/after") || strings.Contains(out, "configmap/c0\n") {
				t.Errorf("after restart: %q", out)
			}
			for _, sys := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
				s2.ok(t, "get", "namespace", sys)
			}
		})
	}
}

// snapshot maps kind/namespace/name to uid for the test's objects, its namespace and the
// system namespaces.
func snapshot(t *testing.T, s *skiff, ns string) map[string]string {
	t.Helper()
	const tmpl = `jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}={.metadata.uid}{"\n"}{end}`
	out := s.ok(t, "get", "configmaps,pods,deployments,replicasets,services", "-n", ns, "-o", tmpl)
	out += s.ok(t, "get", "namespaces", "-o", tmpl)
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		k, uid, ok := strings.Cut(l, "=")
		if !ok || uid == "" {
			t.Fatalf("bad snapshot line %q", l)
		}
		m[k] = uid
	}
	return m
}
