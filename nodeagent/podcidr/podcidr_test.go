package podcidr

import (
	"context"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiff-dev/skiff/test/poll"
)

func TestWait(t *testing.T) {
	t.Run("already assigned", func(t *testing.T) {
		c := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24"}},
			&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}, Spec: corev1.NodeSpec{PodCIDR: "10.244.2.0/24"}})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got, err := Wait(ctx, c, "n2")
		if err != nil || got != "10.244.2.0/24" {
			t.Fatalf("Wait = %q, %v; want 10.244.2.0/24", got, err)
		}
	})
	t.Run("assigned later", func(t *testing.T) {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
		c := fake.NewClientset(node)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done := make(chan string, 1)
		go func() {
			cidr, err := Wait(ctx, c, "n1")
			if err != nil {
				t.Error(err)
			}
			done <- cidr
		}()
		// The fake's watches see only the changes after they start: the update is repeated
		// (a new label each time) until Wait has seen one.
		node.Spec.PodCIDR = "10.244.7.0/24"
		for i := 0; ; i++ {
			node.Labels = map[string]string{"try": strconv.Itoa(i)}
			if _, err := c.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-done:
				if got != "10.244.7.0/24" {
					t.Errorf("Wait = %q, want 10.244.7.0/24", got)
				}
				return
			case <-time.After(poll.Interval):
			}
		}
	})
	t.Run("ends with ctx", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Wait(ctx, fake.NewClientset(), "n1"); err == nil {
			t.Error("Wait returned no error after ctx ended")
		}
	})
}
