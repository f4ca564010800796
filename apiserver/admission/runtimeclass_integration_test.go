package admission_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/test/poll"
)

// TestRuntimeClass: node.k8s.io/v1 RuntimeClasses are served (discovery, validation, table) and
// the RuntimeClass admission plugin gives pods their class's overhead and scheduling, refuses
// unknown classes and conflicts with upstream's messages, and the overhead counts in quota.
func TestRuntimeClass(t *testing.T) {
	s := apiservertest.Start(t)
	c, ctx := s.Client, context.Background()
	rcs := c.NodeV1().RuntimeClasses()
	newNamespace(t, c, "rc")
	withClass := func(name, class string, res corev1.ResourceRequirements, mutate ...func(*corev1.Pod)) *corev1.Pod {
		p := pod(name, res)
		p.Spec.RuntimeClassName = ptr.To(class)
		for _, m := range mutate {
			m(p)
		}
		return p
	}

	t.Run("API", func(t *testing.T) {
		resources, err := c.Discovery().ServerResourcesForGroupVersion("node.k8s.io/v1")
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range resources.APIResources {
			if r.Name == "runtimeclasses" {
				found = !r.Namespaced && r.Kind == "RuntimeClass"
			}
		}
		if !found {
			t.Fatalf("runtimeclasses not in discovery as a cluster-scoped RuntimeClass: %+v", resources.APIResources)
		}
		// OpenAPI v3 (kubectl explain, server-side apply) has the group and the kind's schema.
		doc, err := c.Discovery().RESTClient().Get().AbsPath("/openapi/v3/apis/node.k8s.io/v1").DoRaw(ctx)
		if err != nil || !strings.Contains(string(doc), `"io.k8s.api.node.v1.RuntimeClass"`) {
			t.Fatalf("OpenAPI v3 of node.k8s.io/v1: %v\n%.300s", err, doc)
		}
		rc, err := rcs.Create(ctx, &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "api"}, Handler: "runc"}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rc.Handler = "other"
		_, err = rcs.Update(ctx, rc, metav1.UpdateOptions{})
		if !apierrors.IsInvalid(err) || err.Error() != `RuntimeClass.node.k8s.io "api" is invalid: handler: Invalid value: "other": field is immutable` {
			t.Errorf("changing the handler: %v", err)
		}
		_, err = rcs.Create(ctx, &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "bad"}, Handler: "a.b"}, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) {
			t.Errorf("a handler that is not a DNS label: %v, want 422", err)
		}
		table := &metav1.Table{}
		if err := c.NodeV1().RESTClient().Get().Resource("runtimeclasses").SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").
			Do(ctx).Into(table); err != nil {
			t.Fatal(err)
		}
		var cols []string
		for _, col := range table.ColumnDefinitions {
			cols = append(cols, col.Name)
		}
		if fmt.Sprint(cols) != "[Name Handler Age]" || len(table.Rows) != 1 || table.Rows[0].Cells[1] != "runc" {
			t.Errorf("table columns %v rows %+v", cols, table.Rows)
		}
	})

	overhead := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("1Mi")}
	if _, err := rcs.Create(ctx, &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "kata"}, Handler: "kata",
		Overhead: &nodev1.Overhead{PodFixed: overhead},
		Scheduling: &nodev1.Scheduling{NodeSelector: map[string]string{"sandbox": "kata"},
			Tolerations: []corev1.Toleration{{Key: "sandbox", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("overhead and scheduling set", func(t *testing.T) {
		p, err := c.CoreV1().Pods("rc").Create(ctx, withClass("kata-pod", "kata", corev1.ResourceRequirements{}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !p.Spec.Overhead.Cpu().Equal(resource.MustParse("10m")) || !p.Spec.Overhead.Memory().Equal(resource.MustParse("1Mi")) || p.Spec.NodeSelector["sandbox"] != "kata" {
			t.Errorf("overhead %v, node selector %v", p.Spec.Overhead, p.Spec.NodeSelector)
		}
		tolerated := false
		for _, tol := range p.Spec.Tolerations {
			tolerated = tolerated || tol.Key == "sandbox"
		}
		if !tolerated {
			t.Errorf("tolerations %v lack the class's", p.Spec.Tolerations)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct {
			pod  *corev1.Pod
			want string
		}{
			{withClass("unknown", "foo", corev1.ResourceRequirements{}),
				`pods "unknown" is forbidden: pod rejected: RuntimeClass "foo" not found`},
			{withClass("conflict", "kata", corev1.ResourceRequirements{}, func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"sandbox": "gvisor"} }),
				`pods "conflict" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[sandbox] = kata; pod.spec.nodeSelector[sandbox] = gvisor`},
			{withClass("other-overhead", "kata", corev1.ResourceRequirements{}, func(p *corev1.Pod) {
				p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
			}),
				`pods "other-overhead" is forbidden: pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead`},
			{func() *corev1.Pod {
				p := pod("own-overhead", corev1.ResourceRequirements{})
				p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
				return p
			}(), `pods "own-overhead" is forbidden: pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead`},
		} {
			for _, dryRun := range [][]string{{metav1.DryRunAll}, nil} {
				_, err := c.CoreV1().Pods("rc").Create(ctx, tc.pod, metav1.CreateOptions{DryRun: dryRun})
				if !apierrors.IsForbidden(err) || err.Error() != tc.want {
					t.Errorf("%s (dry run %v): %v, want 403 %q", tc.pod.Name, dryRun, err, tc.want)
				}
			}
		}
	})

	t.Run("a deleted class refuses pods", func(t *testing.T) {
		if _, err := rcs.Create(ctx, &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "gone"}, Handler: "runc"}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().Pods("rc").Create(ctx, withClass("before", "gone", corev1.ResourceRequirements{}), metav1.CreateOptions{}); err != nil {
			t.Fatalf("a class created a moment ago: %v", err)
		}
		if err := rcs.Delete(ctx, "gone", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Until(t, 20*time.Second, "pods of the deleted class refused", func() error {
			_, err := c.CoreV1().Pods("rc").Create(ctx, withClass("after", "gone", corev1.ResourceRequirements{}), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if !apierrors.IsForbidden(err) {
				return fmt.Errorf("got %v, want 403", err)
			}
			return nil
		})
	})

	t.Run("overhead counts in quota", func(t *testing.T) {
		newNamespace(t, c, "rcq")
		createQuota(t, c, "rcq", rl("requests.cpu", "100m"))
		req := func(cpu string) corev1.ResourceRequirements {
			return corev1.ResourceRequirements{Requests: rl("cpu", cpu)}
		}
		poll.Until(t, 20*time.Second, "quota charged with the overhead", func() error {
			if _, err := c.CoreV1().Pods("rcq").Create(ctx, withClass("a", "kata", req("50m")), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
			q, err := c.CoreV1().ResourceQuotas("rcq").Get(ctx, "quota", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if got := q.Status.Used[corev1.ResourceRequestsCPU]; got.String() != "60m" {
				return fmt.Errorf("used requests.cpu %s, want 60m (50m + 10m overhead)", got.String())
			}
			return nil
		})
		_, err := c.CoreV1().Pods("rcq").Create(ctx, withClass("b", "kata", req("35m")), metav1.CreateOptions{})
		want := `pods "b" is forbidden: exceeded quota: quota, requested: requests.cpu=45m, used: requests.cpu=60m, limited: requests.cpu=100m`
		if !apierrors.IsForbidden(err) || err.Error() != want {
			t.Errorf("over quota with the overhead: %v, want %q", err, want)
		}
	})
}
