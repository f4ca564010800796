package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/skiff-dev/skiff/nodeagent/images"
)

// TestImagesByName: images keep their real names. A `docker save` tarball made here is imported
// with `skiff image import` under the names it records (example.com/demo:1.0, demo2:1.0), and
// pods naming them run, with no registry address in the manifest, on the server's node and on a
// node joined without --registry (it mirrors the server's registry, published in
// kube-system/skiff-registry). An image that is nowhere gets ErrImagePull/ImagePullBackOff
// naming `skiff image import`. The builtin busybox's wget and nslookup work in a pod.
func TestImagesByName(t *testing.T) {
	longScenario(t)
	dir := t.TempDir()
	s := startSkiffT(t, dir, "--agent=true", "--node-name=img-a", "--node-port=0",
		"--pod-cidr=10.244.170.0/24", "--images-src", moduleRoot())
	eventually(t, 90*time.Second, func() error {
		out := s.kubectl(t, "get", "node", "img-a", "--no-headers")
		if out.err != nil || !strings.Contains(out.stdout, " Ready ") {
			return fmt.Errorf("node img-a not Ready: %s%s", out.stdout, out.stderr)
		}
		return nil
	})

	// A tiny image (busybox-static, running a shell line) saved as `docker save` does, two names.
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("busybox-static is installed by hack/install-runtime.sh: %v", err)
	}
	layer, err := images.LayerFromFiles([]images.File{{Path: "bin/busybox", Mode: 0o755, Contents: bb}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := images.NewImage(images.ImageConfig{Entrypoint: []string{"/bin/busybox", "sh", "-c", "echo demo runs; exec /bin/busybox sleep 3600"}}, layer)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "demo.tar")
	refs := map[name.Reference]v1.Image{}
	for _, n := range []string{"example.com/demo:1.0", "demo2:1.0"} {
		tag, err := name.NewTag(n)
		if err != nil {
			t.Fatal(err)
		}
		refs[tag] = img
	}
	if err := tarball.MultiRefWriteToFile(archive, refs); err != nil {
		t.Fatal(err)
	}
	out := runSkiff(t, "image", "import", "--data-dir", dir, archive)
	for _, want := range []string{"example.com/demo:1.0", "docker.io/library/demo2:1.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("skiff image import printed %q, want %s", out, want)
		}
	}
	ls := runSkiff(t, "image", "ls", "--data-dir", dir)
	for _, want := range []string{"NAME", "DIGEST", "SIZE", "example.com/demo:1.0", "docker.io/library/demo2:1.0",
		"registry.k8s.io/pause:3.10", "docker.io/library/busybox:latest", "docker.io/skiff/skiff-http:latest"} {
		if !strings.Contains(ls, want) {
			t.Errorf("skiff image ls lacks %q:\n%s", want, ls)
		}
	}

	// The archive holds one image (under two names): NAME:TAG imports it under that name alone.
	if out := runSkiff(t, "image", "import", "--data-dir", dir, archive, "other:1"); strings.TrimSpace(out) != "docker.io/library/other:1" {
		t.Errorf("skiff image import FILE other:1 printed %q", out)
	}

	ns := s.namespace(t)
	t.Cleanup(func() { s.kubectl(t, "delete", "pods", "--all", "-n", ns, "--timeout=60s") })
	pod := func(name, image, node string, args ...string) {
		t.Helper()
		command := ""
		if len(args) > 0 {
			command = fmt.Sprintf("\n    command: [%s]", strings.Join(args, ", "))
		}
		s.okIn(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  nodeSelector: {kubernetes.io/hostname: %s}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: %s%s
`, name, node, image, command), "apply", "-n", ns, "-f", "-")
	}
	pod("demo", "example.com/demo:1.0", "img-a")
	pod("demo2", "demo2:1.0", "img-a")
	pod("nowhere", "nowhere.invalid/none:1", "img-a")
	pod("web", "skiff/skiff-http", "img-a")
	pod("client", "busybox", "img-a", "sleep", `"3600"`)
	s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/demo", "pod/demo2", "pod/web", "pod/client", "--timeout=90s")
	if out := s.ok(t, "logs", "-n", ns, "demo2"); !strings.Contains(out, "demo runs") {
		t.Errorf("logs of demo2: %q", out)
	}
	if img := s.ok(t, "get", "pod", "-n", ns, "demo2", "-o", "jsonpath={.status.containerStatuses[0].image}"); img != "docker.io/library/demo2:1.0" {
		t.Errorf("demo2's status image %q, want docker.io/library/demo2:1.0", img)
	}
	eventually(t, 60*time.Second, func() error {
		out := s.ok(t, "get", "pod", "nowhere", "-n", ns, "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}|{.status.containerStatuses[0].state.waiting.message}")
		reason, msg, _ := strings.Cut(out, "|")
		if (reason != "ErrImagePull" && reason != "ImagePullBackOff") || !strings.Contains(msg, `skiff image import FILE.tar`) {
			return fmt.Errorf("image that is nowhere: waiting %q", out)
		}
		return nil
	})

	// The builtin busybox: wget (Skiff's nettool) and nslookup through the cluster DNS.
	webIP := s.ok(t, "get", "pod", "web", "-n", ns, "-o", "jsonpath={.status.podIP}")
	if out := s.ok(t, "exec", "-n", ns, "client", "--", "wget", "-qO-", "-T", "5", "http://"+webIP+":8080/"); strings.TrimSpace(out) != "web" {
		t.Errorf("wget -qO- http://%s:8080/ in the busybox pod: %q, want the pod name", webIP, out)
	}
	if out := s.kubectl(t, "exec", "-n", ns, "client", "--", "wget", "-q", "-T", "5", "--spider", "http://"+webIP+":8080/nothere"); out.err == nil {
		t.Errorf("wget --spider of a missing page succeeded: %v", out)
	}
	s.ok(t, "exec", "-n", ns, "client", "--", "nc", "-z", "-w", "2", webIP, "8080")
	// busybox sh runs its own applets before any program on the PATH: scripts name /bin/wget.
	if out := s.ok(t, "exec", "-n", ns, "client", "--", "sh", "-c", "/bin/wget -qO- http://"+webIP+":8080/ && echo ok"); !strings.Contains(out, "web\nok") {
		t.Errorf("/bin/wget in sh: %q", out)
	}
	eventually(t, 30*time.Second, func() error {
		out := s.kubectl(t, "exec", "-n", ns, "client", "--", "nslookup", "kubernetes.default")
		if out.err != nil || !strings.Contains(out.stdout, "kubernetes.default.svc.cluster.local") {
			return fmt.Errorf("nslookup kubernetes.default: %v", out)
		}
		return nil
	})

	// A second node, joined without --registry: it finds the server's registry and runs the
	// imported image by its name.
	token := strings.Fields(runSkiff(t, "token", "create", "--data-dir", dir))[0]
	server := s.ok(t, "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")
	agentDir := t.TempDir()
	t.Cleanup(func() {
		// Last: the joined node's service proxy rules, which it keeps when it stops.
		if out, err := exec.Command(skiffBin, "agent", "--cleanup", "--node-name", "img-b").CombinedOutput(); err != nil {
			t.Errorf("skiff agent --cleanup --node-name img-b: %v\n%s", err, out)
		}
	})
	a := startAgent(t, "--server", server, "--token", token, "--node-name=img-b", "--data-dir", agentDir,
		"--node-port=0", "--pod-cidr=10.244.171.0/24", "--images-src", moduleRoot())
	t.Cleanup(func() {
		// Its pods go before the agent stops (containers outlive containerd).
		s.kubectl(t, "delete", "pod", "demo-b", "-n", ns, "--timeout=60s")
	})
	eventually(t, 120*time.Second, func() error {
		out := s.kubectl(t, "get", "node", "img-b", "--no-headers")
		if out.err != nil || !strings.Contains(out.stdout, " Ready ") {
			return fmt.Errorf("node img-b not Ready: %s%s\nagent log: %s", out.stdout, out.stderr, tailOf(a.log.String(), 1500))
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(agentDir, "registry.addr")); err == nil {
		t.Errorf("the joined node runs a registry of its own instead of the server's")
	}
	pod("demo-b", "example.com/demo:1.0", "img-b")
	s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/demo-b", "--timeout=90s")

	// skiff image rm takes names out of the registry.
	if out := runSkiff(t, "image", "rm", "--data-dir", dir, "demo2:1.0", "other:1"); out != "Removed docker.io/library/demo2:1.0\nRemoved docker.io/library/other:1\n" {
		t.Errorf("skiff image rm: %q", out)
	}
	if ls := runSkiff(t, "image", "ls", "--data-dir", dir); strings.Contains(ls, "demo2") || strings.Contains(ls, "other") || !strings.Contains(ls, "example.com/demo:1.0") {
		t.Errorf("skiff image ls after rm:\n%s", ls)
	}
}
