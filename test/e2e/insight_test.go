package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/test/poll"
)

// skiffCmd runs a skiff client command against the cluster.
func (s *skiff) skiffCmd(args ...string) (string, error) {
	out, err := exec.Command(skiffBin, append(args, "--kubeconfig", s.kubeconfig)...).CombinedOutput()
	return string(out), err
}

// TestWhyAndHistoryOnRealNode: `skiff why` of a pod that asks more CPU than the node has names
// the node, the filter and the numbers; `skiff history` of a Deployment after `kubectl set
// image` shows the image's diff, the kubectl-set manager and the user; `skiff why` of the new
// pod, whose image does not exist, says so.
func TestWhyAndHistoryOnRealNode(t *testing.T) {
	longScenario(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root (containerd)")
	}
	const node = "insight-node"
	s := startNodeT(t, t.TempDir(), node, "10.244.245.0/24")
	ns := s.namespace(t)
	t.Cleanup(func() {
		// The Deployment's busybox ignores SIGTERM: no 30 s grace period for the namespace.
		s.kubectl(t, "delete", "deployments,pods", "--all", "-n", ns, "--grace-period=0", "--force")
		s.kubectl(t, "delete", "namespace", ns, "--timeout=60s")
	})

	t.Run("why of an unschedulable pod", func(t *testing.T) {
		s.okIn(t, `apiVersion: v1
kind: Pod
metadata: {name: huge}
spec:
  containers:
  - name: main
    image: busybox
    command: [sleep, "3600"]
    resources: {requests: {cpu: "100"}}
`, "apply", "-n", ns, "-f", "-")
		want := regexp.MustCompile(`(?m)^  Node ` + node + ` \(NodeResourcesFit\): Insufficient cpu: the pod requests 100, the node has \S+ free \(\S+ allocatable, \S+ requested by its pods\)\.`)
		var out string
		poll.Until(t, 30*time.Second, "skiff why names the node", func() error {
			var err error
			if out, err = s.skiffCmd("why", "pod/huge", "-n", ns); err != nil || !want.MatchString(out) {
				return fmt.Errorf("skiff why (%v):\n%s", err, out)
			}
			return nil
		})
		if !strings.HasPrefix(out, "Pod "+ns+"/huge is Pending: at ") || !strings.Contains(out, "0/1 nodes are available: 1 Insufficient cpu.") {
			t.Errorf("skiff why:\n%s", out)
		}
		t.Logf("skiff why pod/huge:\n%s", out)
	})

	t.Run("history of a deployment after kubectl set image", func(t *testing.T) {
		s.ok(t, "create", "deployment", "web", "-n", ns, "--image=busybox", "--", "sleep", "3600")
		s.ok(t, "rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
		s.ok(t, "set", "image", "deployment/web", "-n", ns, "busybox=busybox:no-such-tag")
		var out string
		setImage := regexp.MustCompile(`(?m)^RV \d+  \S+  manager kubectl-set  user skiff-admin  patch\n  @@ line \d+\n(  .*\n)*  -\s+image: busybox\n  \+\s+image: busybox:no-such-tag\n`)
		poll.Until(t, 10*time.Second, "skiff history shows the image change", func() error {
			var err error
			if out, err = s.skiffCmd("history", "deployment.apps/web", "-n", ns); err != nil || !setImage.MatchString(out) {
				return fmt.Errorf("skiff history (%v):\n%s", err, out)
			}
			return nil
		})
		created := regexp.MustCompile(`(?m)^RV \d+  \S+  manager kubectl-create  user skiff-admin  create\n`)
		if !created.MatchString(out) || !strings.HasPrefix(out, "deployments.apps/web in namespace "+ns+": ") {
			t.Errorf("skiff history lacks the creation:\n%s", out)
		}
		// kubectl's short name resolves the same.
		if short, err := s.skiffCmd("history", "deploy/web", "-n", ns); err != nil || !setImage.MatchString(short) {
			t.Errorf("skiff history deploy/web (%v):\n%s", err, short)
		}
		t.Logf("skiff history deployment/web:\n%s", out)
	})

	t.Run("why of a pod whose image does not exist", func(t *testing.T) {
		var out string
		poll.Until(t, 60*time.Second, "skiff why explains the image pull", func() error {
			pod := strings.TrimSpace(s.ok(t, "get", "pods", "-n", ns, "-o", "name", "--field-selector=status.phase=Pending", "-l", "app=web"))
			if pod == "" {
				return fmt.Errorf("no pending pod of web yet")
			}
			var err error
			out, err = s.skiffCmd("why", strings.Split(pod, "\n")[0], "-n", ns)
			if err != nil || !strings.Contains(out, "Container busybox cannot get its image busybox:no-such-tag: ") {
				return fmt.Errorf("skiff why %s (%v):\n%s", pod, err, out)
			}
			return nil
		})
		t.Logf("skiff why of the new pod:\n%s", out)
	})
}
