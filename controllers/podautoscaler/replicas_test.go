package podautoscaler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// testPod is a pod with one container requesting cpuRequest millicores, started long ago and
// Ready, unless changed by the options.
func testPod(name string, cpuRequest int64, opts ...func(*corev1.Pod)) *corev1.Pod {
	start := metav1.NewTime(t0.Add(-time.Hour))
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(cpuRequest, resource.DecimalSI)}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &start,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: start}}}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func pending(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }
func failed(p *corev1.Pod)  { p.Status.Phase = corev1.PodFailed }

// justStarted: started a minute ago and Ready 10 s ago (within the CPU initialization period).
func justStarted(p *corev1.Pod) {
	start := metav1.NewTime(t0.Add(-time.Minute))
	p.Status.StartTime = &start
	p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(t0.Add(-10 * time.Second))
}

// neverReady: started long ago, not Ready since its start.
func neverReady(p *corev1.Pod) {
	p.Status.Conditions[0].Status = corev1.ConditionFalse
	p.Status.Conditions[0].LastTransitionTime = *p.Status.StartTime
}

func samples(values ...int64) PodMetrics {
	out := PodMetrics{}
	for i, v := range values {
		if v >= 0 {
			out[fmt.Sprintf("p%d", i)] = PodMetric{Timestamp: t0, Window: 30 * time.Second, Value: v}
		}
	}
	return out
}

func pods(n int, request int64, opts map[int][]func(*corev1.Pod)) []*corev1.Pod {
	out := make([]*corev1.Pod, n)
	for i := range out {
		out[i] = testPod(fmt.Sprintf("p%d", i), request, opts[i]...)
	}
	return out
}

// TestResourceReplicas pins upstream's replica calculator for Utilization targets (cases after
// replica_calculator_test.go).
func TestResourceReplicas(t *testing.T) {
	calc := Calculator{Tolerances: Tolerances{DefaultTolerance, DefaultTolerance}, Readiness: DefaultReadiness, Now: t0}
	tests := []struct {
		name            string
		current, target int32
		pods            []*corev1.Pod
		metrics         PodMetrics
		want            int32
		wantUtilization int32
		wantErr         string
	}{
		{"scale up", 3, 30, pods(3, 1000, nil), samples(300, 500, 700), 5, 50, ""},
		{"scale down", 5, 50, pods(5, 1000, nil), samples(100, 300, 500, 250, 250), 3, 28, ""},
		{"within tolerance", 3, 100, pods(3, 1000, nil), samples(1050, 950, 1000), 3, 100, ""},
		{"just outside tolerance", 3, 100, pods(3, 1000, nil), samples(1200, 1100, 1100), 4, 113, ""},
		// The pending pod counted as 0 flips the direction: no change.
		{"pending pod counts 0 on scale up", 3, 30, pods(3, 1000, map[int][]func(*corev1.Pod){2: {pending}}), samples(300, 500, 700), 3, 40, ""},
		{"pending pod counts 0 on scale up, still above", 3, 20, pods(3, 1000, map[int][]func(*corev1.Pod){2: {pending}}), samples(500, 700, 700), 6, 60, ""},
		{"failed pod ignored", 3, 30, pods(3, 1000, map[int][]func(*corev1.Pod){2: {failed}}), samples(300, 500, 700), 3, 40, ""},
		{"unready pod within init period counts 0 on scale up", 3, 30, pods(3, 1000, map[int][]func(*corev1.Pod){0: {justStarted}}), samples(100, 500, 700), 4, 60, ""},
		{"never-ready pod counts 0", 3, 30, pods(3, 1000, map[int][]func(*corev1.Pod){2: {neverReady}}), samples(300, 500, 700), 3, 40, ""},
		// (300 + 1000) / 4000 = 32% of 50%: ceil(0.64 * 4).
		{"missing pod counts 100% on scale down", 4, 50, pods(4, 1000, nil), samples(100, 100, 100, -1), 3, 10, ""},
		// 1800 / 3000 = 60% of 30%: 2 * 3.
		{"missing pod counts 0 on scale up", 3, 30, pods(3, 1000, nil), samples(900, 900, -1), 6, 90, ""},
		{"missing pods keep the count when the direction flips", 3, 80, pods(3, 1000, nil), samples(700, -1, -1), 3, 70, ""},
		{"no pods", 3, 50, nil, samples(100), 0, 0, "no pods returned by selector while calculating replica count"},
		{"no metrics", 3, 50, pods(3, 1000, nil), samples(), 0, 0, "did not receive metrics for targeted pods (pods might be unready)"},
		{"missing request", 3, 50, []*corev1.Pod{testPod("p0", 1000, func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests = nil })}, samples(100), 0, 0,
			"missing request for cpu in container c of Pod p0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := calc.ResourceReplicas(tt.current, tt.target, corev1.ResourceCPU, "", tt.pods, tt.metrics)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Replicas != tt.want || got.Utilization != tt.wantUtilization {
				t.Errorf("replicas %d, utilization %d; want %d, %d", got.Replicas, got.Utilization, tt.want, tt.wantUtilization)
			}
		})
	}
}

// TestPlainReplicas pins AverageValue targets (memory, or CPU in millicores per pod).
func TestPlainReplicas(t *testing.T) {
	calc := Calculator{Tolerances: Tolerances{DefaultTolerance, DefaultTolerance}, Readiness: DefaultReadiness, Now: t0}
	tests := []struct {
		name      string
		current   int32
		target    int64
		pods      []*corev1.Pod
		metrics   PodMetrics
		want      int32
		wantUsage int64
	}{
		{"scale up", 3, 300, pods(3, 1000, nil), samples(300, 500, 700), 5, 500},
		{"scale down", 5, 500, pods(5, 1000, nil), samples(100, 100, 100, 100, 100), 1, 100},
		{"within tolerance", 3, 500, pods(3, 1000, nil), samples(480, 500, 520), 3, 500},
		{"missing pod counts the target on scale down", 3, 500, pods(3, 1000, nil), samples(100, 100, -1), 2, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, usage, err := calc.PlainReplicas(tt.current, tt.target, corev1.ResourceMemory, tt.pods, tt.metrics)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || usage != tt.wantUsage {
				t.Errorf("replicas %d, usage %d; want %d, %d", got, usage, tt.want, tt.wantUsage)
			}
		})
	}
}

// TestContainerResourceReplicas: only the named container's requests count.
func TestContainerResourceReplicas(t *testing.T) {
	calc := Calculator{Tolerances: Tolerances{DefaultTolerance, DefaultTolerance}, Readiness: DefaultReadiness, Now: t0}
	sidecar := func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "sidecar", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3")}}})
	}
	got, err := calc.ResourceReplicas(2, 50, corev1.ResourceCPU, "c", pods(2, 1000, map[int][]func(*corev1.Pod){0: {sidecar}, 1: {sidecar}}), samples(1000, 1000))
	if err != nil {
		t.Fatal(err)
	}
	if got.Replicas != 4 || got.Utilization != 100 {
		t.Errorf("got %+v, want 4 replicas at 100%%", got)
	}
}
