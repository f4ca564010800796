package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllermanager"
	"github.com/skiff-dev/skiff/nodeagent/simulated"
)

const jobNodes = 10

// BenchmarkJobCompletions runs a Job of 1000 completions (parallelism 1000) on simulated nodes
// whose containers exit 0 at once, with the real Job controller and scheduler, and, in the same
// run, the ReplicaSet burst of the same size: it reports the Job's completions/s next to the
// ReplicaSet's pod creates/s, and their ratio.
func BenchmarkJobCompletions(b *testing.B) {
	for i := 0; i < b.N; i++ {
		rsCreated, _ := runBurst(b)
		took := runJob(b)
		completions := float64(burstReplicas) / took.Seconds()
		creates := float64(burstReplicas) / rsCreated.Seconds()
		b.ReportMetric(took.Seconds(), "s-to-complete")
		b.ReportMetric(completions, "completions/s")
		b.ReportMetric(creates, "rs-creates/s")
		b.ReportMetric(completions/creates, "completions-per-rs-create")
		fmt.Printf("\nJob of %d completions on %d simulated nodes: complete after %.2fs (%.0f completions/s);"+
			" ReplicaSet burst of %d: %.0f creates/s; ratio %.2f\n",
			burstReplicas, jobNodes, took.Seconds(), completions, burstReplicas, creates, completions/creates)
	}
}

func runJob(b *testing.B) time.Duration {
	s := apiservertest.Start(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := s.Client
	nodesDone := make(chan error, jobNodes)
	for i := 0; i < jobNodes; i++ {
		n, err := simulated.New(simulated.Config{Name: fmt.Sprintf("sim-%02d", i), Client: c, CompleteFinitePods: true,
			PodCIDR: fmt.Sprintf("10.250.%d.0/24", i), Allocatable: corev1.ResourceList{
				corev1.ResourcePods: *podsQuantity(200)}})
		if err != nil {
			b.Fatal(err)
		}
		go func() { nodesDone <- n.Start(ctx) }()
	}
	cfg := controllermanager.Config{Manager: controllers.Options{MetricsBindAddress: "0"}, SkipNameValidation: true,
		NodeMonitorGracePeriod: time.Hour, NodeMonitorPeriod: time.Minute}
	done := make(chan error, 1)
	go func() { done <- controllermanager.Start(ctx, s.Config, cfg) }()

	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "completions", Namespace: "default"},
		Spec: batchv1.JobSpec{
			Completions: ptr.To[int32](burstReplicas), Parallelism: ptr.To[int32](burstReplicas),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}},
		},
	}
	start := time.Now()
	if _, err := c.BatchV1().Jobs("default").Create(ctx, job, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		if time.Now().After(deadline) {
			b.Fatalf("the Job did not complete in 10m")
		}
		j, err := c.BatchV1().Jobs("default").Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if j.Status.CompletionTime != nil {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling interval of the measurement
	}
	took := time.Since(start)
	cancel()
	<-done
	for i := 0; i < jobNodes; i++ {
		<-nodesDone
	}
	return took
}

func podsQuantity(n int64) *resource.Quantity { return resource.NewQuantity(n, resource.DecimalSI) }
