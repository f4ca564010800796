package watchtrace_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/test/poll"
	"github.com/skiff-dev/skiff/testenv"
)

// TestDeliveriesInTheStoryOfADeployment: a Deployment's story (a cluster of one simulated node,
// tracing on) holds the watch deliveries of its objects to each controller on their path, each
// joined with the etcd commit of the version it delivered, and `skiff trace`'s diagram says how
// long after the commit each came.
func TestDeliveriesInTheStoryOfADeployment(t *testing.T) {
	env := testenv.Start(t, testenv.WithTracing(), testenv.WithSimulatedNodes(1))
	ns := env.Namespace(t)
	ctx := context.Background()
	l := map[string]string{"app": "web"}
	d, err := env.Clientset.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1"}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pod corev1.Pod
	poll.Eventually(t, "a running pod of web", poll.Check(func() (bool, string) {
		list, err := env.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil || len(list.Items) != 1 || list.Items[0].Status.Phase != corev1.PodRunning {
			return false, fmt.Sprintf("%v %v", list, err)
		}
		pod = list.Items[0]
		return true, ""
	}))
	rs := metav1.GetControllerOf(&pod)
	// The deliveries end as their handlers return: wait for the last ones to be stored.
	want := []struct{ component, kind, uid string }{
		{"controller:deployment", "Deployment", string(d.UID)},
		{"controller:deployment", "ReplicaSet", string(rs.UID)},
		{"controller:replicaset", "ReplicaSet", string(rs.UID)},
		{"controller:replicaset", "Pod", string(pod.UID)},
		{"scheduler", "Pod", string(pod.UID)},
	}
	var spans []trace.Span
	poll.Eventually(t, "the deliveries in the Deployment's story", poll.Check(func() (bool, string) {
		spans = trace.Visible(env.Traces.Query([]string{string(d.UID)}, nil))
		var missing []string
		for _, w := range want {
			if !delivered(spans, w.component, w.kind, w.uid) {
				missing = append(missing, w.kind+"→"+w.component)
			}
		}
		return len(missing) == 0, "missing joined deliveries " + strings.Join(missing, ", ")
	}))
	for _, sp := range spans {
		d, ok := trace.AfterCommit(sp)
		if ok && (d < -time.Millisecond || d > 10*time.Second) {
			t.Errorf("%s of %s delivered %v after its commit", sp.Name, sp.Component, d)
		}
	}
	out := trace.Render(spans)
	if !strings.Contains(out, "watch ReplicaSet event") || !strings.Contains(out, "after the etcd commit") {
		t.Errorf("the diagram shows no delivery delays:\n%s", out)
	}
	t.Logf("the Deployment's story:\n%s", out)
}

// delivered says whether spans hold a delivery of kind to component about uid, joined with
// the commit of its version.
func delivered(spans []trace.Span, component, kind, uid string) bool {
	for _, sp := range spans {
		if _, ok := trace.AfterCommit(sp); ok && sp.Component == component && sp.Name == trace.WatchSpanName(kind) &&
			sp.Attributes[trace.AttrUID] == uid {
			return true
		}
	}
	return false
}
