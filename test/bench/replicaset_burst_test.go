package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllermanager"
)

const (
	burstReplicas = 1000
	burstNodes    = 100
)

// BenchmarkReplicaSetBurst is issue 3's burst: one ReplicaSet of 1000 replicas onto 100 Node
// objects, with the real ReplicaSet controller and scheduler; it reports the time until every
// pod is bound and the pod creates/s the controller achieved.
func BenchmarkReplicaSetBurst(b *testing.B) {
	for i := 0; i < b.N; i++ {
		allCreated, allBound := runBurst(b)
		createsPerSec := float64(burstReplicas) / allCreated.Seconds()
		b.ReportMetric(allBound.Seconds(), "s-to-all-bound")
		b.ReportMetric(createsPerSec, "creates/s")
		b.ReportMetric(float64(burstReplicas)/allBound.Seconds(), "binds/s")
		fmt.Printf("\nReplicaSet burst: %d replicas onto %d nodes\n", burstReplicas, burstNodes)
		fmt.Printf("  all pods created after %.2fs (%.0f creates/s), all bound after %.2fs (%.0f binds/s)\n",
			allCreated.Seconds(), createsPerSec, allBound.Seconds(), float64(burstReplicas)/allBound.Seconds())
	}
}

// runBurst returns when all the burst's pods were created and when all were bound.
func runBurst(b *testing.B) (allCreated, allBound time.Duration) {
	s := apiservertest.Start(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := s.Client
	for i := 0; i < burstNodes; i++ {
		if err := createReadyNode(ctx, c, fmt.Sprintf("node-%03d", i)); err != nil {
			b.Fatal(err)
		}
	}
	cfg := controllermanager.Config{Manager: controllers.Options{MetricsBindAddress: "0"}, SkipNameValidation: true,
		NodeMonitorGracePeriod: time.Hour, NodeMonitorPeriod: time.Minute}
	done := make(chan error, 1)
	go func() { done <- controllermanager.Start(ctx, s.Config, cfg) }()

	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "burst", Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](burstReplicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "burst"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "burst"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")}}}}},
			},
		},
	}
	start := time.Now()
	if _, err := c.AppsV1().ReplicaSets("default").Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	var created, bound int
	deadline := time.Now().Add(5 * time.Minute)
	for bound < burstReplicas {
		if time.Now().After(deadline) {
			b.Fatalf("after 5m: %d pods created, %d bound", created, bound)
		}
		pods, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=burst", ResourceVersion: "0"})
		if err != nil {
			b.Fatal(err)
		}
		created, bound = len(pods.Items), 0
		for i := range pods.Items {
			if pods.Items[i].Spec.NodeName != "" {
				bound++
			}
		}
		if created >= burstReplicas && allCreated == 0 {
			allCreated = time.Since(start)
		}
		time.Sleep(50 * time.Millisecond) // polling interval of the measurement
	}
	allBound = time.Since(start)
	cancel()
	<-done
	return allCreated, allBound
}

func createReadyNode(ctx context.Context, c kubernetes.Interface, name string) error {
	now := metav1.Now()
	alloc := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("32Gi"),
		corev1.ResourcePods: resource.MustParse("110")}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
		Status: corev1.NodeStatus{Capacity: alloc, Allocatable: alloc, Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: now, LastTransitionTime: now}}},
	}
	_, err := c.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	return err
}
