package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	remote "k8s.io/cri-client/pkg"

	"github.com/skiff-dev/skiff/test/poll"
)

// TestRuntimeClassOnRealNode: RuntimeClasses on the local node with real containers. A pod of a
// class whose handler is test-handler (upstream e2e's preconfigured handler, a runc runtime of
// the node's containerd) runs to completion in a sandbox of that handler, with the class's
// overhead; a class whose handler containerd lacks leaves its pod Pending in ContainerCreating
// with FailedCreatePodSandBox events naming the handler, as upstream; a class that does not exist
// is refused at admission.
func TestRuntimeClassOnRealNode(t *testing.T) {
	dir := t.TempDir()
	s := startNodeT(t, dir, "rc-node", "10.244.243.0/24")
	ns := s.namespace(t)
	t.Cleanup(func() { s.kubectl(t, "delete", "pods", "--all", "-n", ns, "--timeout=90s") })
	s.okIn(t, `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: preconfigured}
handler: test-handler
overhead: {podFixed: {cpu: 10m, memory: 1Mi}}
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: unconfigured}
handler: no-such-handler
`, "apply", "-f", "-")
	header, rows := tableRows(t, s.ok(t, "get", "runtimeclasses", "--sort-by=metadata.name"))
	if !reflect.DeepEqual(header, []string{"NAME", "HANDLER", "AGE"}) || len(rows) != 2 ||
		rows[0][0] != "preconfigured" || rows[0][1] != "test-handler" || rows[1][1] != "no-such-handler" {
		t.Fatalf("kubectl get runtimeclasses: %v %v", header, rows)
	}
	pod := func(name, class string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: %s}
spec:
  runtimeClassName: %s
  restartPolicy: Never
  automountServiceAccountToken: false
  containers: [{name: test, image: busybox, command: ["true"]}]
`, name, ns, class)
	}
	get := func(pod, jsonpath string) string {
		return s.ok(t, "get", "pod", pod, "-n", ns, "-o", "jsonpath="+jsonpath)
	}

	t.Run("the class's handler runs the sandbox", func(t *testing.T) {
		s.okIn(t, pod("with-handler", "preconfigured"), "apply", "-f", "-")
		poll.Until(t, 90*time.Second, "the pod Succeeded", poll.Check(func() (bool, string) {
			phase := get("with-handler", "{.status.phase}")
			return phase == "Succeeded", phase
		}))
		if got := get("with-handler", "{.spec.overhead.cpu}/{.spec.overhead.memory}"); got != "10m/1Mi" {
			t.Errorf("overhead %q, want the class's 10m/1Mi", got)
		}
		uid := get("with-handler", "{.metadata.uid}")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		rs, err := remote.NewRemoteRuntimeServiceBuilder().WithEndpoint("unix://" + filepath.Join(dir, "node", "containerd", "containerd.sock")).
			WithConnectionTimeout(10 * time.Second).Build(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sandboxes, err := rs.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"io.kubernetes.pod.uid": uid}})
		if err != nil || len(sandboxes) != 1 {
			t.Fatalf("sandboxes of the pod: %v, %v", sandboxes, err)
		}
		if h := sandboxes[0].RuntimeHandler; h != "test-handler" {
			t.Errorf("the sandbox's runtime handler is %q, want test-handler", h)
		}
	})

	t.Run("a handler the runtime lacks leaves the pod Pending", func(t *testing.T) {
		s.okIn(t, pod("unconfigured", "unconfigured"), "apply", "-f", "-")
		poll.Until(t, 60*time.Second, "a FailedCreatePodSandBox event naming the handler", poll.Check(func() (bool, string) {
			ev := s.ok(t, "get", "events", "-n", ns, "--field-selector", "involvedObject.name=unconfigured,reason=FailedCreatePodSandBox",
				"-o", `jsonpath={range .items[*]}{.type} {.source.component} {.message}{"\n"}{end}`)
			return strings.Contains(ev, "Warning kubelet Failed to create pod sandbox: ") && strings.Contains(ev, `no runtime for "no-such-handler" is configured`), ev
		}))
		if got := get("unconfigured", "{.status.phase} {.status.containerStatuses[0].state.waiting.reason}"); got != "Pending ContainerCreating" {
			t.Errorf("status %q, want Pending ContainerCreating", got)
		}
	})

	t.Run("a class that does not exist is refused", func(t *testing.T) {
		stderr := s.fails(t, pod("no-class", "foo"), "apply", "-f", "-")
		if want := `pods "no-class" is forbidden: pod rejected: RuntimeClass "foo" not found`; !strings.Contains(stderr, want) {
			t.Errorf("kubectl apply: %q, want %q", stderr, want)
		}
	})
}
