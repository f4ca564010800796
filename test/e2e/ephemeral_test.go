package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/test/poll"
)

// TestEphemeralContainers runs `kubectl debug` against a pod on a real node: an ephemeral
// container with --target=main runs in the pod's sandbox and sees the main container's
// processes (one without a target does not), its output is in `kubectl logs -c`, its status in
// ephemeralContainerStatuses; `kubectl debug -i` attaches to it with stdin; the pod itself
// keeps running untouched.
func TestEphemeralContainers(t *testing.T) {
	longScenario(t)
	s := startNodeT(t, t.TempDir(), "e2e-ephemeral", "10.244.241.0/24")
	ns := s.namespace(t)
	client := kubernetes.NewForConfigOrDie(s.restConfig(t))
	// The pods go before the cluster stops: containers outlive containerd, as with a kubelet.
	t.Cleanup(func() { s.kubectl(t, "delete", "pods", "--all", "-n", ns, "--timeout=60s") })

	s.okIn(t, `apiVersion: v1
kind: Pod
metadata: {name: target}
spec:
  containers:
  - name: main
    image: busybox
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
`, "apply", "-n", ns, "-f", "-")
	s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/target", "--timeout=120s")
	before, err := client.CoreV1().Pods(ns).Get(context.Background(), "target", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// terminated waits for the ephemeral container's exit and returns its status.
	terminated := func(t *testing.T, name string) corev1.ContainerStatus {
		t.Helper()
		var st corev1.ContainerStatus
		poll.Until(t, 90*time.Second, name+" terminated", func() error {
			p, err := client.CoreV1().Pods(ns).Get(context.Background(), "target", metav1.GetOptions{})
			if err != nil {
				return err
			}
			for _, cs := range p.Status.EphemeralContainerStatuses {
				if cs.Name == name && cs.State.Terminated != nil {
					st = cs
					return nil
				}
			}
			return fmt.Errorf("ephemeral statuses %+v", p.Status.EphemeralContainerStatuses)
		})
		return st
	}

	t.Run("debug with a target sees its processes", func(t *testing.T) {
		s.ok(t, "debug", "-n", ns, "target", "--image=busybox", "--target=main", "-c", "debugger", "--", "ps")
		st := terminated(t, "debugger")
		if st.State.Terminated.ExitCode != 0 || st.Ready || !strings.HasPrefix(st.ContainerID, "containerd://") {
			t.Errorf("debugger status = %+v", st)
		}
		if out := s.ok(t, "logs", "-n", ns, "target", "-c", "debugger"); !strings.Contains(out, "sleep 3600") {
			t.Errorf("ps in the target's namespace does not show the main container's sleep:\n%s", out)
		}
		p, err := client.CoreV1().Pods(ns).Get(context.Background(), "target", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ec := p.Spec.EphemeralContainers
		if len(ec) != 1 || ec[0].TargetContainerName != "main" || p.Generation != before.Generation+1 {
			t.Errorf("generation %d (was %d), ephemeral containers %+v", p.Generation, before.Generation, ec)
		}
		// the pod runs on, its container untouched, the ephemeral container not restarted.
		if cs := p.Status.ContainerStatuses[0]; p.Status.Phase != corev1.PodRunning || cs.ContainerID != before.Status.ContainerStatuses[0].ContainerID || cs.RestartCount != 0 {
			t.Errorf("phase %s, main %+v", p.Status.Phase, cs)
		}
		if st := p.Status.EphemeralContainerStatuses[0]; st.RestartCount != 0 || st.State.Terminated == nil {
			t.Errorf("debugger after its exit: %+v", st)
		}
	})

	t.Run("debug without a target has its own processes", func(t *testing.T) {
		s.ok(t, "debug", "-n", ns, "target", "--image=busybox", "-c", "alone", "--", "ps")
		terminated(t, "alone")
		if out := s.ok(t, "logs", "-n", ns, "target", "-c", "alone"); strings.Contains(out, "sleep 3600") || !strings.Contains(out, "ps") {
			t.Errorf("ps in its own namespace:\n%s", out)
		}
	})

	t.Run("debug -i with stdin", func(t *testing.T) {
		// stdin stays open until kubectl exits: containerd (as under a kubelet) detaches the
		// output of a container without stdinOnce, as kubectl debug makes it, when the
		// attached stdin closes.
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		ctx, cancel := context.WithTimeout(context.Background(), kubectlLimit)
		defer cancel()
		cmd := exec.CommandContext(ctx, "kubectl", s.kubectlArgs([]string{"debug", "-i", "-n", ns, "target", "--image=busybox",
			"--target=main", "-c", "interactive", "--", "sh"})...)
		cmd.Env = kubectlEnv()
		var stdout, stderr bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = r, &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r.Close()
		if _, err := io.WriteString(w, "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo done-$((6*7)); exit\n"); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("kubectl debug -i: %v\n%s%s", err, stdout.String(), stderr.String())
		}
		out := stdout.String()
		if !strings.Contains(out, "sh -c trap 'exit 0' TERM; sleep 3600 & wait") || !strings.Contains(out, "done-42") {
			t.Errorf("kubectl debug -i output:\n%s\nstderr:\n%s", out, stderr.String())
		}
		if st := terminated(t, "interactive"); st.State.Terminated.ExitCode != 0 {
			t.Errorf("interactive status = %+v", st)
		}
	})

	t.Run("no removal, no change", func(t *testing.T) {
		patch := []byte(`[{"op":"remove","path":"/spec/ephemeralContainers/0"}]`)
		_, err := client.CoreV1().Pods(ns).Patch(context.Background(), "target", types.JSONPatchType, patch, metav1.PatchOptions{}, "ephemeralcontainers")
		if err == nil || !strings.Contains(err.Error(), `existing ephemeral containers "debugger" may not be removed`) {
			t.Errorf("removing an ephemeral container: %v", err)
		}
		patch = []byte(`[{"op":"replace","path":"/spec/ephemeralContainers/0/image","value":"nginx"}]`)
		_, err = client.CoreV1().Pods(ns).Patch(context.Background(), "target", types.JSONPatchType, patch, metav1.PatchOptions{}, "ephemeralcontainers")
		if err == nil || !strings.Contains(err.Error(), `existing ephemeral containers "debugger" may not be changed`) {
			t.Errorf("changing an ephemeral container: %v", err)
		}
	})
}
