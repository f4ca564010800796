package pod_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
)

// pods/ephemeralcontainers as upstream's: discovery lists it (kind Pod; get, patch, update);
// kubectl debug's strategic merge patch adds an ephemeral container and bumps the generation;
// the same request cannot change anything else; ephemeral containers cannot be removed or
// changed, nor added through the pod itself or on create.
func TestPodEphemeralContainers(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods("default")

	t.Run("discovery", func(t *testing.T) {
		list, err := s.Client.Discovery().ServerResourcesForGroupVersion("v1")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range list.APIResources {
			if r.Name != "pods/ephemeralcontainers" {
				continue
			}
			if r.Kind != "Pod" || !r.Namespaced || strings.Join(r.Verbs, ",") != "get,patch,update" {
				t.Errorf("pods/ephemeralcontainers in discovery: %+v", r)
			}
			return
		}
		t.Error("pods/ephemeralcontainers missing from discovery")
	})

	pod, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "debugged"},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "main", Image: "busybox"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("create with ephemeral containers", func(t *testing.T) {
		p := pod.DeepCopy()
		p.ObjectMeta = metav1.ObjectMeta{Name: "with-ephemeral"}
		p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", Image: "busybox"}}}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.ephemeralContainers: Forbidden: cannot be set on create") {
			t.Errorf("create: %v", err)
		}
	})

	t.Run("kubectl debug's patch", func(t *testing.T) {
		// what kubectl debug sends: the ephemeral container, defaulted by the server; the
		// image and label changes in the same patch are dropped.
		patch := []byte(`{"metadata":{"labels":{"x":"y"}},"spec":{"containers":[{"name":"main","image":"nginx"}],` +
			`"ephemeralContainers":[{"name":"debugger","image":"busybox","targetContainerName":"main","stdin":true,"tty":true,"command":["sh"]}]}}`)
		got, err := pods.Patch(ctx, "debugged", types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "ephemeralcontainers")
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Spec.EphemeralContainers) != 1 {
			t.Fatalf("ephemeral containers %+v", got.Spec.EphemeralContainers)
		}
		ec := got.Spec.EphemeralContainers[0]
		if ec.TargetContainerName != "main" || ec.TerminationMessagePolicy != corev1.TerminationMessageReadFile || ec.ImagePullPolicy != corev1.PullAlways {
			t.Errorf("ephemeral container not defaulted as upstream: %+v", ec)
		}
		if got.Spec.Containers[0].Image != "busybox" || got.Labels["x"] != "" {
			t.Errorf("the patch changed more than ephemeral containers: image %q, labels %v", got.Spec.Containers[0].Image, got.Labels)
		}
		if got.Generation != pod.Generation+1 {
			t.Errorf("generation %d, want %d", got.Generation, pod.Generation+1)
		}
	})

	t.Run("get and update", func(t *testing.T) {
		var p corev1.Pod
		if err := s.Client.CoreV1().RESTClient().Get().Namespace("default").Resource("pods").Name("debugged").
			SubResource("ephemeralcontainers").Do(ctx).Into(&p); err != nil {
			t.Fatal(err)
		}
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "second", Image: "busybox"}})
		got, err := pods.UpdateEphemeralContainers(ctx, "debugged", &p, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Spec.EphemeralContainers) != 2 {
			t.Errorf("after update: %+v", got.Spec.EphemeralContainers)
		}
	})

	t.Run("no removal or change", func(t *testing.T) {
		p, err := pods.Get(ctx, "debugged", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		removed := p.DeepCopy()
		removed.Spec.EphemeralContainers = removed.Spec.EphemeralContainers[:1]
		_, err = pods.UpdateEphemeralContainers(ctx, "debugged", removed, metav1.UpdateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `existing ephemeral containers "second" may not be removed`) {
			t.Errorf("removal: %v", err)
		}
		changed := p.DeepCopy()
		changed.Spec.EphemeralContainers[0].Image = "nginx"
		_, err = pods.UpdateEphemeralContainers(ctx, "debugged", changed, metav1.UpdateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `existing ephemeral containers "debugger" may not be changed`) {
			t.Errorf("change: %v", err)
		}
		bad, _ := json.Marshal(map[string]any{"spec": map[string]any{"ephemeralContainers": []any{
			map[string]any{"name": "third", "image": "busybox", "targetContainerName": "nope", "ports": []any{map[string]any{"containerPort": 80}}}}}})
		_, err = pods.Patch(ctx, "debugged", types.StrategicMergePatchType, bad, metav1.PatchOptions{}, "ephemeralcontainers")
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "targetContainerName: Not found") ||
			!strings.Contains(err.Error(), "ports: Forbidden: cannot be set for an Ephemeral Container") {
			t.Errorf("invalid ephemeral container: %v", err)
		}
		viaPod := p.DeepCopy()
		viaPod.Spec.EphemeralContainers = append(viaPod.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "fourth", Image: "busybox",
				TerminationMessagePolicy: corev1.TerminationMessageReadFile, ImagePullPolicy: corev1.PullAlways}})
		if _, err := pods.Update(ctx, viaPod, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "pod updates may not change fields") {
			t.Errorf("adding through the pod: %v", err)
		}
	})

	t.Run("not found", func(t *testing.T) {
		_, err := pods.Patch(ctx, "missing", types.StrategicMergePatchType, []byte(`{}`), metav1.PatchOptions{}, "ephemeralcontainers")
		if !apierrors.IsNotFound(err) {
			t.Errorf("patch of a missing pod: %v", err)
		}
	})
}
