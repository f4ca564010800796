package simulated_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/nodeagent/simulated"
	"github.com/skiff-dev/skiff/test/poll"
)

// TestSimulatedPodGeneration: a simulated node reports the pod generation it saw in
// status.observedGeneration and its conditions', at the start and after a spec change.
func TestSimulatedPodGeneration(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	api := apiservertest.Start(t)
	startNode(ctx, t, simulated.Config{Name: "sim-g", Client: api.Client, PodCIDR: "10.250.1.0/24"})
	pods := api.Client.CoreV1().Pods("default")
	if _, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.PodSpec{NodeName: "sim-g", Containers: []corev1.Container{{Name: "app", Image: "busybox"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	observed := func(gen int64) func() error {
		return func() error {
			p, err := pods.Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if p.Status.Phase != corev1.PodRunning || p.Generation != gen || p.Status.ObservedGeneration != gen {
				return fmt.Errorf("phase %s generation %d observed %d", p.Status.Phase, p.Generation, p.Status.ObservedGeneration)
			}
			for _, c := range p.Status.Conditions {
				if c.ObservedGeneration != gen {
					return fmt.Errorf("condition %s observed generation %d", c.Type, c.ObservedGeneration)
				}
			}
			return nil
		}
	}
	poll.Until(t, 30*time.Second, "web Running at generation 1", observed(1))
	p, err := pods.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "example.com/gen", Operator: corev1.TolerationOpExists})
	if _, err := pods.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, "web at generation 2", observed(2))
}

// startNode runs a simulated node until the test ends.
func startNode(ctx context.Context, t *testing.T, cfg simulated.Config) {
	t.Helper()
	node, err := simulated.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	nodeCtx, stopNode := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- node.Start(nodeCtx) }()
	t.Cleanup(func() { stopNode(); <-done })
}
