package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUpstreamMetricsServer is issue 14's second e2e: the real metrics-server (v0.8.0 from the
// Go module proxy, built in test/metricsserver, its own module) serves metrics.k8s.io in place
// of the built-in one (--disable-metrics-api). It runs as a pod of an image built with `skiff
// image build`, deployed with its own manifests (manifests/base of its module through kubectl's
// kustomize; only the image and --kubelet-insecure-tls changed), behind its APIService; it
// scrapes the real node's /metrics/resource with its service account, and `kubectl top`
// answers from it through the aggregator.
func TestUpstreamMetricsServer(t *testing.T) {
	longScenario(t)
	const node = "ms-node"
	modDir := filepath.Join(moduleRoot(), "test", "metricsserver")
	bin := filepath.Join(t.TempDir(), "rootfs")
	build := exec.Command("go", "build", "-ldflags=-s -w", "-o", filepath.Join(bin, "metrics-server"), "sigs.k8s.io/metrics-server/cmd/metrics-server")
	build.Dir = modDir
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	start := time.Now()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building metrics-server in test/metricsserver: %v\n%s", err, out)
	}
	t.Logf("built metrics-server in %v", time.Since(start).Round(time.Second))

	dir := t.TempDir()
	// Its pod reaches the API server through the kubernetes Service, on a range of its own.
	s := startNodeT(t, dir, node, "10.244.217.0/24", "--disable-metrics-api",
		"--bind-address", "0.0.0.0", "--service-cluster-ip-range", "10.120.217.0/24")
	if out := s.kubectl(t, "get", "apiservice", "v1beta1.metrics.k8s.io"); out.err == nil {
		t.Fatalf("--disable-metrics-api still registers the built-in metrics API:\n%s", out.stdout)
	}

	ref := strings.TrimSpace(runSkiff(t, "image", "build", "--data-dir", dir, "--entrypoint=/metrics-server", bin, "e2e/metrics-server:v0.8.0"))
	i := strings.LastIndex(ref, ":")
	if i < 0 {
		t.Fatalf("skiff image build printed %q", ref)
	}
	overlay := t.TempDir()
	copyTree(t, filepath.Join(moduleDir(t, modDir, "sigs.k8s.io/metrics-server"), "manifests", "base"), filepath.Join(overlay, "base"))
	kustomization := fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [base]
images:
- name: gcr.io/k8s-staging-metrics-server/metrics-server
  newName: %s
  newTag: %s
patches:
- target: {kind: Deployment, name: metrics-server}
  patch: |-
    - op: add
      path: /spec/template/spec/containers/0/args/-
      value: --kubelet-insecure-tls
`, ref[:i], ref[i+1:])
	if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
		t.Fatal(err)
	}
	// Its pod goes before the cluster stops: containers outlive containerd.
	t.Cleanup(func() {
		s.kubectl(t, "delete", "-k", overlay, "--timeout=55s")
		s.kubectl(t, "wait", "--for=delete", "pod", "-n", "kube-system", "-l", "k8s-app=metrics-server", "--timeout=55s")
	})
	s.ok(t, "apply", "-k", overlay)
	s.ok(t, "rollout", "status", "-n", "kube-system", "deployment/metrics-server", "--timeout=150s")

	eventually(t, 120*time.Second, func() error {
		out := s.ok(t, "get", "apiservice", "v1beta1.metrics.k8s.io", "-o", `jsonpath={.spec.service.name} {.status.conditions[?(@.type=="Available")].status}`)
		if out != "metrics-server True" {
			return fmt.Errorf("APIService v1beta1.metrics.k8s.io: %q, want metrics-server True", out)
		}
		return nil
	})
	t.Run("kubectl top node", func(t *testing.T) {
		eventually(t, 90*time.Second, func() error {
			out := s.kubectl(t, "top", "node", "--no-headers")
			if f := fields(out.stdout); out.err != nil || len(f) < 5 || f[0] != node || !strings.HasSuffix(f[1], "m") || !strings.HasSuffix(f[3], "Mi") {
				return fmt.Errorf("kubectl top node: %v %s%s", out.err, out.stdout, out.stderr)
			}
			return nil
		})
	})
	t.Run("kubectl top pod", func(t *testing.T) {
		eventually(t, 90*time.Second, func() error {
			out := s.kubectl(t, "top", "pod", "-n", "kube-system", "-l", "k8s-app=metrics-server", "--no-headers")
			if f := fields(out.stdout); out.err != nil || len(f) != 3 || !strings.HasPrefix(f[0], "metrics-server-") || !strings.HasSuffix(f[2], "Mi") {
				return fmt.Errorf("kubectl top pod: %v %s%s", out.err, out.stdout, out.stderr)
			}
			return nil
		})
	})
}
