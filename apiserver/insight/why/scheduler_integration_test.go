package why_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/test/poll"
	"github.com/skiff-dev/skiff/testenv"
)

// TestWhyFromTheScheduler: the in-process scheduler's diagnosis of a pod that fits on none of
// two simulated nodes (testenv wires the scheduler and the API server as `skiff up` does) reaches
// /insight/v1/why, each node with its filter and numbers.
func TestWhyFromTheScheduler(t *testing.T) {
	env := testenv.Start(t, testenv.WithSimulatedNodes(2))
	ctx := context.Background()
	pods := env.Clientset.CoreV1().Pods("default")
	_, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "huge"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500")}}}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node := regexp.MustCompile(`(?m)^Node sim-[01] \(NodeResourcesFit\): Insufficient cpu: the pod requests 500, the node has \S+ free \(\S+ allocatable, \S+ requested by its pods\)\. Preemption cannot help there\.$`)
	poll.Until(t, 30*time.Second, "why names both nodes", func() error {
		all := strings.Join(getWhy(t, env.Clientset, "huge").Explanation, "\n")
		if n := len(node.FindAllString(all, -1)); n != 2 {
			return fmt.Errorf("%d nodes explained:\n%s", n, all)
		}
		return nil
	})
}
