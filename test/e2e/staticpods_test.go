package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStaticPodsOnRealNode runs a static pod from the node's --pod-manifest-path (issue 15): it
// runs with a mirror pod in the API (kubectl sees it Running, owned by the Node); deleting the
// mirror brings a new mirror of the same running containers; removing the manifest stops the
// pod and removes its mirror.
func TestStaticPodsOnRealNode(t *testing.T) {
	const node = "static-node"
	dir := t.TempDir()
	manifests := filepath.Join(dir, "manifests")
	if err := os.MkdirAll(manifests, 0o755); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(manifests, "web.yaml")
	if err := os.WriteFile(manifest, []byte(`apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: static-web}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: main, image: busybox, command: [sleep, "3600"]}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startNodeT(t, filepath.Join(dir, "data"), node, "10.244.228.0/24", "--pod-manifest-path="+manifests)
	const mirror = "web-" + node
	// The static pod stops with its manifest, before the cluster does.
	t.Cleanup(func() {
		_ = os.Remove(manifest)
		eventually(t, 60*time.Second, func() error {
			if r := s.kubectl(t, "get", "pod", mirror, "--ignore-not-found", "-o", "name"); strings.TrimSpace(r.stdout) != "" {
				return fmt.Errorf("mirror pod still there")
			}
			return nil
		})
	})

	var containerID string
	t.Run("the static pod runs with a mirror pod", func(t *testing.T) {
		eventually(t, 90*time.Second, func() error {
			out := s.kubectl(t, "get", "pod", mirror, "-o", `jsonpath={.status.phase}|{.metadata.annotations.kubernetes\.io/config\.mirror}|{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}|{.status.containerStatuses[0].containerID}`).stdout
			f := strings.Split(out, "|")
			if len(f) != 4 || f[0] != "Running" || len(f[1]) != 32 || f[2] != "Node/"+node || f[3] == "" {
				return fmt.Errorf("mirror pod: %q", out)
			}
			containerID = f[3]
			return nil
		})
	})

	t.Run("a deleted mirror comes back, the pod keeps running", func(t *testing.T) {
		uid := s.ok(t, "get", "pod", mirror, "-o", "jsonpath={.metadata.uid}")
		s.ok(t, "delete", "pod", mirror, "--wait=false")
		eventually(t, 60*time.Second, func() error {
			out := s.kubectl(t, "get", "pod", mirror, "-o", `jsonpath={.metadata.uid}|{.status.phase}|{.status.containerStatuses[0].containerID}`).stdout
			f := strings.Split(out, "|")
			if len(f) != 3 || f[0] == uid || f[1] != "Running" {
				return fmt.Errorf("mirror pod after its deletion: %q (old uid %s)", out, uid)
			}
			if f[2] != containerID {
				t.Errorf("the container changed: %s, was %s", f[2], containerID)
			}
			return nil
		})
	})

	t.Run("removing the manifest removes the pod", func(t *testing.T) {
		if err := os.Remove(manifest); err != nil {
			t.Fatal(err)
		}
		eventually(t, 60*time.Second, func() error {
			if out := strings.TrimSpace(s.kubectl(t, "get", "pod", mirror, "--ignore-not-found", "-o", "name").stdout); out != "" {
				return fmt.Errorf("mirror pod still there: %s", out)
			}
			return nil
		})
	})
}
