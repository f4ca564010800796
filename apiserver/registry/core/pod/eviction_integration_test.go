package pod_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
)

// runningPod creates a pod on node n1 and reports it Running and Ready, as the node would.
func runningPod(t *testing.T, c kubernetes.Interface, ns, name string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	pod, err := c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	pod, err = c.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

// budget creates a PodDisruptionBudget for app=web and sets its status as the disruption
// controller would.
func budget(t *testing.T, c kubernetes.Interface, ns, name string, status policyv1.PodDisruptionBudgetStatus) *policyv1.PodDisruptionBudget {
	t.Helper()
	ctx := context.Background()
	one := intstr.FromInt32(1)
	pdb, err := c.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pdb.Generation != 1 {
		t.Errorf("generation = %d, want 1", pdb.Generation)
	}
	status.ObservedGeneration = pdb.Generation
	pdb.Status = status
	pdb, err = c.PolicyV1().PodDisruptionBudgets(ns).UpdateStatus(ctx, pdb, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pdb
}

// evict posts a policy/v1 Eviction and returns the HTTP status code and error.
func evict(c kubernetes.Interface, ns, name string, dryRun bool) (int, error) {
	ev := &policyv1.Eviction{TypeMeta: metav1.TypeMeta{APIVersion: "policy/v1", Kind: "Eviction"}, ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	req := c.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name(name).SubResource("eviction").Body(ev)
	if dryRun {
		req = req.Param("dryRun", metav1.DryRunAll)
	}
	code := 0
	err := req.Do(context.Background()).StatusCode(&code).Error()
	return code, err
}

func TestEvictionHonoursTheBudget(t *testing.T) {
	s := apiservertest.Start(t)
	c, ctx := s.Client, context.Background()
	ns := "default"
	runningPod(t, c, ns, "p1")
	pdb := budget(t, c, ns, "web", policyv1.PodDisruptionBudgetStatus{CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 1})

	// No disruption allowed: 429 with upstream's message and cause.
	code, err := evict(c, ns, "p1", false)
	if code != http.StatusTooManyRequests || !apierrors.IsTooManyRequests(err) {
		t.Fatalf("eviction with the budget exhausted: code %d, err %v", code, err)
	}
	status := err.(apierrors.APIStatus).Status()
	if status.Message != "Cannot evict pod as it would violate the pod's disruption budget." ||
		status.Details == nil || len(status.Details.Causes) != 1 || status.Details.Causes[0].Type != policyv1.DisruptionBudgetCause {
		t.Errorf("429 status = %+v", status)
	}

	// One disruption allowed: a dry run changes nothing, then the eviction takes it.
	pdb.Status.DisruptionsAllowed = 1
	pdb.Status.CurrentHealthy = 2
	if _, err := c.PolicyV1().PodDisruptionBudgets(ns).UpdateStatus(ctx, pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if code, err := evict(c, ns, "p1", true); code != http.StatusCreated || err != nil {
		t.Fatalf("dry-run eviction: code %d, err %v", code, err)
	}
	if pdb, err = c.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "web", metav1.GetOptions{}); err != nil || pdb.Status.DisruptionsAllowed != 1 {
		t.Fatalf("after a dry run: %v, %+v", err, pdb.Status)
	}
	if _, err := c.CoreV1().Pods(ns).Get(ctx, "p1", metav1.GetOptions{}); err != nil {
		t.Fatalf("dry run deleted the pod: %v", err)
	}
	if code, err := evict(c, ns, "p1", false); code != http.StatusCreated || err != nil {
		t.Fatalf("allowed eviction: code %d, err %v", code, err)
	}
	// The pod is scheduled: it terminates gracefully, marked as the eviction's target.
	evicted, err := c.CoreV1().Pods(ns).Get(ctx, "p1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if evicted.DeletionTimestamp == nil {
		t.Errorf("evicted pod is not being deleted")
	}
	if !hasCondition(evicted, corev1.DisruptionTarget, "EvictionByEvictionAPI") {
		t.Errorf("evicted pod's conditions: %+v", evicted.Status.Conditions)
	}
	pdb, err = c.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, recorded := pdb.Status.DisruptedPods["p1"]; pdb.Status.DisruptionsAllowed != 0 || !recorded {
		t.Errorf("budget after the eviction: %+v", pdb.Status)
	}

	// policy/v1beta1 bodies are accepted too (here refused by the exhausted budget).
	runningPod(t, c, ns, "p2")
	body := `{"apiVersion":"policy/v1beta1","kind":"Eviction","metadata":{"name":"p2","namespace":"default"}}`
	err = c.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name("p2").SubResource("eviction").
		SetHeader("Content-Type", "application/json").Body([]byte(body)).Do(ctx).StatusCode(&code).Error()
	if !apierrors.IsTooManyRequests(err) {
		t.Errorf("policy/v1beta1 eviction: code %d, err %v", code, err)
	}

	// A missing pod is 404.
	if _, err := evict(c, ns, "missing", false); !apierrors.IsNotFound(err) {
		t.Errorf("evicting a missing pod: %v", err)
	}
}

func TestEvictionWithTwoBudgetsFails(t *testing.T) {
	s := apiservertest.Start(t)
	c := s.Client
	runningPod(t, c, "default", "p1")
	allow := policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1, CurrentHealthy: 1, ExpectedPods: 1}
	budget(t, c, "default", "a", allow)
	budget(t, c, "default", "b", allow)
	_, err := evict(c, "default", "p1", false)
	if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "more than one PodDisruptionBudget") {
		t.Errorf("eviction with two budgets: %v", err)
	}
}

func TestEvictionOfPendingPodIgnoresTheBudget(t *testing.T) {
	s := apiservertest.Start(t)
	c, ctx := s.Client, context.Background()
	if _, err := c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pending", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	budget(t, c, "default", "web", policyv1.PodDisruptionBudgetStatus{DesiredHealthy: 1, ExpectedPods: 1})
	if code, err := evict(c, "default", "pending", false); code != http.StatusCreated || err != nil {
		t.Fatalf("evicting a pending pod: code %d, err %v", code, err)
	}
	if _, err := c.CoreV1().Pods("default").Get(ctx, "pending", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pending pod after eviction: %v", err)
	}
}

func hasCondition(pod *corev1.Pod, typ corev1.PodConditionType, reason string) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == typ {
			return c.Status == corev1.ConditionTrue && c.Reason == reason
		}
	}
	return false
}
