package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// kubectlVersions finds the kubectl binaries beside the one on the PATH (kubectl.1.27 ... in the
// Google Cloud SDK's bin directory on these machines); the PATH's kubectl is always included.
func kubectlVersions(t *testing.T) map[string]string {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl is not on the PATH: %v", err)
	}
	found := map[string]string{"kubectl": path}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		matches, _ := filepath.Glob(filepath.Join(filepath.Dir(real), "kubectl.1.*"))
		for _, m := range matches {
			found[filepath.Base(m)] = m
		}
	}
	return found
}

// TestKubectlVersions runs the everyday commands with every kubectl version available, since
// wire compatibility is the point: discovery, apply (client and server side), get with tables,
// describe, explain, patch, delete. The versions run side by side.
func TestKubectlVersions(t *testing.T) {
	s := sharedCluster(t)
	for name, bin := range kubectlVersions(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each version has its own namespace and discovery cache
			ns := s.namespace(t)
			cache := filepath.Join(s.dataDir, "cache-"+name)
			run := func(stdin string, args ...string) string {
				t.Helper()
				r := s.kubectlBin(t, bin, cache, stdin, args...)
				if r.err != nil {
					t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), r.err, r.stderr)
				}
				return r.stdout
			}
			app := appManifest(t)
			run(app, "apply", "-n", ns, "-f", "-")
			run(app, "apply", "-n", ns, "-f", "-") // a second client-side apply computes a patch
			run(app, "apply", "--server-side", "--force-conflicts", "-n", ns, "-f", "-")
			if out := run("", "get", "deploy", "web", "-n", ns); !strings.Contains(out, "UP-TO-DATE") {
				t.Errorf("get deploy: %s", out)
			}
			if out := run("", "get", "pods", "-n", ns, "-o", "wide"); !strings.Contains(out, "NOMINATED NODE") {
				t.Errorf("get pods -o wide: %s", out)
			}
			run("", "patch", "deploy", "web", "-n", ns, "-p", `{"spec":{"replicas":1}}`)
			if out := run("", "describe", "deploy", "web", "-n", ns); !strings.Contains(out, "Replicas:") {
				t.Errorf("describe: %s", out)
			}
			if out := run("", "explain", "deployment.spec.strategy"); !strings.Contains(out, "rollingUpdate") {
				t.Errorf("explain: %s", out)
			}
			run(app, "delete", "-n", ns, "-f", "-", "--wait=false")
		})
	}
}
