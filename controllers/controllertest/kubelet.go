package controllertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// Kubelet stands in for the nodes' agents in a controller test: every 20 ms it lists the pods of
// Namespace (all namespaces when empty), finishes the deletion of terminating pods when
// FinishDeletions, and marks Running and Ready (with a pod IP) the pods Ready accepts.
type Kubelet struct {
	Client    kubernetes.Interface
	Namespace string
	// Ready says whether a pod that is not Running yet is to be marked Running and Ready; nil
	// marks every pod.
	Ready func(*corev1.Pod) bool
	// FinishDeletions deletes terminating pods at once (grace period 0), as an agent whose
	// containers stopped.
	FinishDeletions bool

	ips int
}

// StartKubelet runs k until the test ends. Call it after Start: it stops before the manager.
func StartKubelet(t testing.TB, k *Kubelet) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); k.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func (k *Kubelet) run(ctx context.Context) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pods, err := k.Client.CoreV1().Pods(k.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			switch {
			case p.DeletionTimestamp != nil:
				if k.FinishDeletions {
					_ = k.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
				}
			case p.Status.Phase != corev1.PodRunning && (k.Ready == nil || k.Ready(p)):
				k.ips++
				_ = MarkReady(ctx, k.Client, p, fmt.Sprintf("10.1.%d.%d", k.ips/250, k.ips%250+1))
			}
		}
	}
}

// MarkReady writes pod p's status Running and Ready (started now unless it has a start time)
// with pod IP ip (none when empty).
func MarkReady(ctx context.Context, c kubernetes.Interface, p *corev1.Pod, ip string) error {
	p = p.DeepCopy()
	p.Status.Phase = corev1.PodRunning
	if ip != "" {
		p.Status.PodIP = ip
	}
	now := metav1.Now()
	if p.Status.StartTime == nil {
		p.Status.StartTime = &now
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
	_, err := c.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}
