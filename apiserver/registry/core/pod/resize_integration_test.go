package pod_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/test/poll"
)

// pods/resize as upstream's: discovery lists it; it changes the containers' cpu and memory
// (and bumps the generation) but nothing else of the pod; ValidatePodResize refuses a QoS
// change; the main resource still refuses resource changes.
func TestPodResizeSubresource(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods("default")

	_, list, err := s.Client.Discovery().ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range list {
		if l.GroupVersion != "v1" {
			continue
		}
		for _, r := range l.APIResources {
			if r.Name == "pods/resize" {
				found = strings.Contains(strings.Join(r.Verbs, ","), "patch") && r.Kind == "Pod"
			}
		}
	}
	if !found {
		t.Error("discovery does not list pods/resize (get, patch, update; kind Pod)")
	}

	res := func(cpuReq, cpuLim string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuReq), corev1.ResourceMemory: resource.MustParse("64Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuLim), corev1.ResourceMemory: resource.MustParse("128Mi")},
		}
	}
	pod, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "rs"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox", Resources: res("100m", "200m")}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// The main resource refuses resource changes.
	upd := pod.DeepCopy()
	upd.Spec.Containers[0].Resources = res("150m", "200m")
	if _, err := pods.Update(ctx, upd, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("resources through the main resource: %v, want Invalid", err)
	}

	// A resize through an update: resources change, the image and labels do not.
	upd.Spec.Containers[0].Image = "nginx"
	upd.Labels = map[string]string{"a": "b"}
	got, err := pods.UpdateResize(ctx, "rs", upd, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if q := got.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]; q.String() != "150m" || got.Generation != 2 {
		t.Errorf("after the resize: cpu request %s generation %d, want 150m and 2", q.String(), got.Generation)
	}
	if got.Spec.Containers[0].Image != "busybox" || len(got.Labels) != 0 {
		t.Errorf("the resize changed more than resources: image %q labels %v", got.Spec.Containers[0].Image, got.Labels)
	}

	// kubectl patch --subresource resize.
	patch := `{"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":"300m"}}}]}}`
	got, err = pods.Patch(ctx, "rs", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "resize")
	if err != nil {
		t.Fatal(err)
	}
	if q := got.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU]; q.String() != "300m" || got.Generation != 3 {
		t.Errorf("after the patch: cpu limit %s generation %d, want 300m and 3", q.String(), got.Generation)
	}

	// A QoS change (Burstable to Guaranteed) is refused.
	patch = `{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"300m","memory":"128Mi"}}}]}}`
	_, err = pods.Patch(ctx, "rs", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "resize")
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "Pod QOS Class may not change as a result of resizing") {
		t.Errorf("QoS change: %v", err)
	}

	// PodResizeValidator: a scheduled pod may not ask more than its node's allocatable.
	if _, err := s.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi")}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bound, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bound"},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox", Resources: res("100m", "200m")}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	patch = `{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"3"},"limits":{"cpu":"3"}}}]}}`
	poll.Until(t, 10*time.Second, "node informer of PodResizeValidator", func() error {
		_, err = pods.Patch(ctx, bound.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "resize")
		if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "not found") {
			return err
		}
		return nil
	})
	var statusErr *apierrors.StatusError
	want := `pods "bound" is forbidden: node didn't have enough allocatable resources: cpu, requested: 3000, allocatable: 2000`
	if !errors.As(err, &statusErr) || statusErr.Error() != want || len(statusErr.ErrStatus.Details.Causes) == 0 ||
		statusErr.ErrStatus.Details.Causes[0].Type != "NodeCapacity" {
		t.Errorf("resize beyond the node: %v, want %q with cause NodeCapacity", err, want)
	}
	patch = `{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"1500m"},"limits":{"cpu":"1500m"}}}]}}`
	if _, err := pods.Patch(ctx, bound.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "resize"); err != nil {
		t.Errorf("resize within the node: %v", err)
	}

	// GET on the subresource is the pod.
	r := s.Client.CoreV1().RESTClient().Get().Namespace("default").Resource("pods").Name("rs").SubResource("resize").Do(ctx)
	var p corev1.Pod
	if err := r.Into(&p); err != nil || p.Name != "rs" {
		t.Errorf("GET pods/resize: %v %q", err, p.Name)
	}
}
