package kuberuntime

import (
	"fmt"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// TestRuntimeHandler: the sandbox runs with the handler of the pod's RuntimeClass; a class that
// does not exist and a handler the runtime does not know both fail the sandbox with upstream's
// FailedCreatePodSandBox event, and the pod stays waiting in ContainerCreating.
func TestRuntimeHandler(t *testing.T) {
	classes := map[string]string{"conformance": "test-handler", "broken": "no-such-handler"}
	lookup := func(pod *corev1.Pod) (string, error) {
		if pod.Spec.RuntimeClassName == nil {
			return "", nil
		}
		h, ok := classes[*pod.Spec.RuntimeClassName]
		if !ok {
			return "", apierrors.NewNotFound(schema.GroupResource{Group: "node.k8s.io", Resource: "runtimeclass"}, *pod.Spec.RuntimeClassName)
		}
		return h, nil
	}
	for _, tc := range []struct {
		name      string
		class     *string
		wantCalls []string
		wantEvent string
	}{
		{"no class: the default handler", nil, []string{"RunPodSandbox", "PullImage nginx:1", "CreateContainer a", "StartContainer a"}, ""},
		{"the class's handler", ptr.To("conformance"), []string{"RunPodSandbox handler=test-handler", "PullImage nginx:1", "CreateContainer a", "StartContainer a"}, ""},
		{"a missing class", ptr.To("gone"), nil,
			`Warning  FailedCreatePodSandBox: Failed to create pod sandbox: runtimeclass.node.k8s.io "gone" not found`},
		{"an unknown handler", ptr.To("broken"), []string{"RunPodSandbox handler=no-such-handler"},
			`Warning  FailedCreatePodSandBox: Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox runtime: no runtime for "no-such-handler" is configured`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(t0)
			f := newFakeCRI(clk)
			f.handlers = map[string]bool{"test-handler": true}
			var events []string // the warnings
			m := NewManager(Config{Runtime: f, Images: f, Clock: clk, RuntimeHandler: lookup,
				Event: func(_ *corev1.Pod, c, typ, reason, msg string) {
					if typ == corev1.EventTypeWarning {
						events = append(events, fmt.Sprintf("%s %s %s: %s", typ, c, reason, msg))
					}
				}})
			pod := testPod(corev1.RestartPolicyNever, nil, "a")
			pod.Spec.RuntimeClassName = tc.class
			res, st := doSync(t, m, pod)
			if got := f.takeCalls(); !reflect.DeepEqual(got, tc.wantCalls) {
				t.Errorf("calls = %q, want %q", got, tc.wantCalls)
			}
			if tc.wantEvent == "" {
				if res.Err != nil || len(events) != 0 {
					t.Fatalf("sync error %v, events %q", res.Err, events)
				}
				return
			}
			if res.Err == nil || !reflect.DeepEqual(events, []string{tc.wantEvent}) {
				t.Fatalf("sync error %v, events %q; want the event %q", res.Err, events, tc.wantEvent)
			}
			if st.Phase != corev1.PodPending || st.ContainerStatuses[0].State.Waiting == nil || st.ContainerStatuses[0].State.Waiting.Reason != "ContainerCreating" {
				t.Errorf("status = %+v, want Pending with the container waiting in ContainerCreating", st)
			}
		})
	}
}
