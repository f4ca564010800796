package scheduler

import (
	"context"
	"fmt"
	"testing"

	"github.com/skiff-dev/skiff/test/poll"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func (e *env) createPriorityClass(t testing.TB, name string, value int32) {
	t.Helper()
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value}
	if _, err := e.client.SchedulingV1().PriorityClasses().Create(e.ctx, pc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating priority class %s: %v", name, err)
	}
}

func withClass(name string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.PriorityClassName = name }
}

func TestPreemption(t *testing.T) {
	e := startEnv(t, fastConfig())
	e.createPriorityClass(t, "low", 100)
	e.createPriorityClass(t, "high", 1000)
	e.createNode(t, makeNode("full", "2", "4Gi", 110))
	e.createPod(t, makePod("low", "2", "", withClass("low")))
	if n := e.waitBound(t, "low"); n != "full" {
		t.Fatalf("low on %s", n)
	}
	high := e.createPod(t, makePod("high", "2", "", withClass("high")))

	// The victim gets the DisruptionTarget condition and is deleted (gracefully: it stays until
	// its node's agent, simulated here, removes it); the preemptor is nominated to the node.
	pods := e.client.CoreV1().Pods("default")
	poll.Eventually(t, "low pod marked and deleted", poll.Cond(e.ctx, func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, "low", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.DisruptionTarget && c.Reason == corev1.PodReasonPreemptionByScheduler {
				return p.DeletionTimestamp != nil, nil
			}
		}
		return false, nil
	}))
	poll.Eventually(t, "high pod nominated", poll.Cond(e.ctx, func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, "high", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return p.Status.NominatedNodeName == "full" && p.Spec.NodeName == "", nil
	}))
	e.waitEvent(t, "low", "Preempted", fmt.Sprintf("Preempted by pod %s on node full", high.UID))

	// A pod of lower priority than the nominated one does not take the room it waits for.
	e.createPod(t, makePod("sneaky", "2", "", withClass("low")))
	if err := pods.Delete(e.ctx, "low", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
		t.Fatalf("removing the victim: %v", err)
	}
	if n := e.waitBound(t, "high"); n != "full" {
		t.Fatalf("high on %s, want full", n)
	}
	e.waitUnschedulable(t, "sneaky", "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.")
}

func TestPreemptionNever(t *testing.T) {
	e := startEnv(t, fastConfig())
	e.createPriorityClass(t, "low", 100)
	never := corev1.PreemptNever
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high-polite"}, Value: 1000, PreemptionPolicy: &never}
	if _, err := e.client.SchedulingV1().PriorityClasses().Create(e.ctx, pc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.createNode(t, makeNode("full", "2", "4Gi", 110))
	e.createPod(t, makePod("low", "2", "", withClass("low")))
	e.waitBound(t, "low")
	e.createPod(t, makePod("polite", "2", "", withClass("high-polite")))
	e.waitUnschedulable(t, "polite", "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.")
}
