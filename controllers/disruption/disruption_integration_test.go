package disruption_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/disruption"
	"github.com/skiff-dev/skiff/controllers/replicaset"
	"github.com/skiff-dev/skiff/test/poll"
)

// waitForBudget polls the budget until cond holds for it.
func waitForBudget(t *testing.T, c kubernetes.Interface, ns, name string, what string, cond func(*policyv1.PodDisruptionBudget) bool) *policyv1.PodDisruptionBudget {
	t.Helper()
	var pdb *policyv1.PodDisruptionBudget
	poll.Eventually(t, what, func() error {
		var err error
		if pdb, err = c.PolicyV1().PodDisruptionBudgets(ns).Get(t.Context(), name, metav1.GetOptions{}); err != nil {
			return err
		}
		if !cond(pdb) {
			return fmt.Errorf("status %+v", pdb.Status)
		}
		return nil
	})
	return pdb
}

// markReady reports every pod of the namespace Running and Ready, as a node would.
func markReady(t *testing.T, c kubernetes.Interface, ns string, want int) {
	t.Helper()
	poll.Eventually(t, fmt.Sprintf("marking %d pods ready", want), func() error {
		pods, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(pods.Items) < want {
			return fmt.Errorf("%d pods", len(pods.Items))
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.Status.Phase == corev1.PodRunning {
				continue
			}
			p.Status.Phase = corev1.PodRunning
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			if _, err := c.CoreV1().Pods(ns).UpdateStatus(t.Context(), p, metav1.UpdateOptions{}); err != nil {
				return err
			}
		}
		return nil
	})
}

func newBudget(name string, minAvailable, maxUnavailable *intstr.IntOrString) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: minAvailable, MaxUnavailable: maxUnavailable,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
}

func allowed(pdb *policyv1.PodDisruptionBudget) *metav1.Condition {
	return apimeta.FindStatusCondition(pdb.Status.Conditions, policyv1.DisruptionAllowedCondition)
}

func TestBudgetOfReplicaSetPods(t *testing.T) {
	s := controllertest.Start(t,
		(&replicaset.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager,
		(&disruption.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager)
	c, ctx, ns := s.Client, context.Background(), "default"

	labels := map[string]string{"app": "web"}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.ReplicaSetSpec{
		Replicas: ptr.To[int32](3), Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}}}
	if _, err := c.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	one := intstr.FromInt32(1)
	if _, err := c.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, newBudget("max1", nil, &one), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Pods not ready yet: none healthy, no disruption allowed.
	waitForBudget(t, c, ns, "max1", "budget with pending pods", func(p *policyv1.PodDisruptionBudget) bool {
		cond := allowed(p)
		return p.Status.ObservedGeneration == 1 && p.Status.ExpectedPods == 3 && p.Status.DesiredHealthy == 2 &&
			p.Status.CurrentHealthy == 0 && p.Status.DisruptionsAllowed == 0 &&
			cond != nil && cond.Status == metav1.ConditionFalse && cond.Reason == policyv1.InsufficientPodsReason
	})
	markReady(t, c, ns, 3)
	pdb := waitForBudget(t, c, ns, "max1", "budget with ready pods", func(p *policyv1.PodDisruptionBudget) bool {
		cond := allowed(p)
		return p.Status.CurrentHealthy == 3 && p.Status.DisruptionsAllowed == 1 &&
			cond != nil && cond.Status == metav1.ConditionTrue && cond.Reason == policyv1.SufficientPodsReason
	})

	// A percentage of the ReplicaSet's scale; a new generation is observed.
	half := intstr.FromString("50%")
	pdb.Spec.MaxUnavailable = nil
	pdb.Spec.MinAvailable = &half
	if _, err := c.PolicyV1().PodDisruptionBudgets(ns).Update(ctx, pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForBudget(t, c, ns, "max1", "minAvailable 50%", func(p *policyv1.PodDisruptionBudget) bool {
		return p.Status.ObservedGeneration == 2 && p.Status.ExpectedPods == 3 && p.Status.DesiredHealthy == 2 && p.Status.DisruptionsAllowed == 1
	})

	// An eviction takes the one disruption; the controller keeps counting the pod as gone while
	// its delete is pending (here it went at once: the pod was never scheduled).
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	victim := pods.Items[0].Name
	if err := c.PolicyV1().Evictions(ns).Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: victim, Namespace: ns}}); err != nil {
		t.Fatalf("eviction: %v", err)
	}
	if err := c.PolicyV1().Evictions(ns).Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pods.Items[1].Name, Namespace: ns}}); err == nil {
		t.Errorf("a second eviction was allowed")
	}
	// The ReplicaSet replaces the pod; once ready, a disruption is allowed again.
	markReady(t, c, ns, 3)
	waitForBudget(t, c, ns, "max1", "budget after the replacement", func(p *policyv1.PodDisruptionBudget) bool {
		_, recorded := p.Status.DisruptedPods[victim]
		return p.Status.CurrentHealthy == 3 && p.Status.DisruptionsAllowed == 1 && !recorded
	})
}

func TestBudgetOfUnknownControllerFailsSafe(t *testing.T) {
	s := controllertest.Start(t, (&disruption.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager)
	c, ctx, ns := s.Client, context.Background(), "default"
	for i, ref := range []metav1.OwnerReference{
		{APIVersion: "example.com/v1", Kind: "Unserved", Name: "x", UID: "u1", Controller: ptr.To(true)},
		{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "missing", UID: "u2", Controller: ptr.To(true)},
	} {
		ns := fmt.Sprintf("ns%d", i)
		if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"app": "web"},
			OwnerReferences: []metav1.OwnerReference{ref}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, newBudget("pct", ptr.To(intstr.FromString("50%")), nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitForBudget(t, c, ns, "pct", "fail-safe status for "+ref.Kind, func(p *policyv1.PodDisruptionBudget) bool {
			cond := allowed(p)
			return p.Status.DisruptionsAllowed == 0 && cond != nil && cond.Status == metav1.ConditionFalse &&
				cond.Reason == policyv1.SyncFailedReason && cond.Message == `found no controllers for pod "p"`
		})
	}
	// An integer minAvailable does not need the controllers: the pods present are expected.
	if _, err := c.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, newBudget("count", ptr.To(intstr.FromInt32(0)), nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForBudget(t, c, ns, "count", "budget without pods", func(p *policyv1.PodDisruptionBudget) bool {
		return p.Status.ObservedGeneration == 1 && p.Status.ExpectedPods == 0 && p.Status.DisruptionsAllowed == 0
	})
}

func TestBudgetThroughScaleSubresource(t *testing.T) {
	s := controllertest.Start(t, (&disruption.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager)
	c, ctx, ns := s.Client, context.Background(), "default"
	labels := map[string]string{"app": "web"}
	// No deployment controller runs: the pods below are made by hand, controlled by the Deployment.
	d, err := c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To[int32](4), Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: ptr.To(true)}}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	markReady(t, c, ns, 2)
	if _, err := c.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, newBudget("pct", nil, ptr.To(intstr.FromString("25%"))), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// 4 expected (the scale), 25% of them may be unavailable: 3 must be healthy, 2 are.
	waitForBudget(t, c, ns, "pct", "budget from the Deployment's scale", func(p *policyv1.PodDisruptionBudget) bool {
		return p.Status.ExpectedPods == 4 && p.Status.DesiredHealthy == 3 && p.Status.CurrentHealthy == 2 && p.Status.DisruptionsAllowed == 0
	})
}

func TestStaleDisruptionTargetIsReset(t *testing.T) {
	s := controllertest.Start(t, (&disruption.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager)
	c, ctx, ns := s.Client, context.Background(), "default"
	p, err := c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "marked"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI",
		LastTransitionTime: metav1.NewTime(time.Now().Add(-3 * time.Minute))}}
	if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "stale DisruptionTarget not reset", func() error {
		p, err = c.CoreV1().Pods(ns).Get(ctx, "marked", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.DisruptionTarget {
				if cond.Status == corev1.ConditionFalse {
					return nil
				}
				break
			}
		}
		return fmt.Errorf("conditions %+v", p.Status.Conditions)
	})
}
