package autoscaling_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apis/conversion"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
)

func TestHorizontalPodAutoscalerVersions(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	v1, v2 := s.Client.AutoscalingV1().HorizontalPodAutoscalers("default"), s.Client.AutoscalingV2().HorizontalPodAutoscalers("default")
	ref := autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}

	// A v2 autoscaler with CPU and a Pods metric, defaulted and read back through v1.
	hpa, err := v2.Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: ref, MaxReplicas: 5, Metrics: []autoscalingv2.MetricSpec{
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)}}},
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "qps"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("10"))}}},
		}, Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](30)}}},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{DesiredReplicas: 9}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *hpa.Spec.MinReplicas != 1 || hpa.Status.DesiredReplicas != 0 || len(hpa.Spec.Behavior.ScaleUp.Policies) != 2 ||
		*hpa.Spec.Behavior.ScaleDown.StabilizationWindowSeconds != 30 || len(hpa.Spec.Behavior.ScaleDown.Policies) != 1 {
		t.Errorf("created: spec %+v, status %+v", hpa.Spec, hpa.Status)
	}
	old, err := v1.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if old.Spec.TargetCPUUtilizationPercentage == nil || *old.Spec.TargetCPUUtilizationPercentage != 50 || old.Spec.MaxReplicas != 5 ||
		!strings.Contains(old.Annotations[conversion.MetricSpecsAnnotation], `"metricName":"qps"`) ||
		!strings.Contains(old.Annotations[conversion.BehaviorSpecsAnnotation], `"StabilizationWindowSeconds":30`) {
		t.Errorf("read as v1: spec %+v, annotations %v", old.Spec, old.Annotations)
	}

	// Status written through v2 (conditions, current metrics) shows in v1 as the current CPU and
	// annotations.
	hpa.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 2, DesiredReplicas: 3,
		CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
			Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](70), AverageValue: ptr.To(resource.MustParse("140m"))}}}},
		Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue,
			Reason: "SucceededRescale", LastTransitionTime: metav1.Now()}}}
	if hpa, err = v2.UpdateStatus(ctx, hpa, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if old, err = v1.Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if old.Status.CurrentCPUUtilizationPercentage == nil || *old.Status.CurrentCPUUtilizationPercentage != 70 || old.Status.DesiredReplicas != 3 ||
		!strings.Contains(old.Annotations[conversion.ConditionsAnnotation], "SucceededRescale") {
		t.Errorf("status read as v1: %+v, annotations %v", old.Status, old.Annotations)
	}

	// An update through v1 that changes the CPU target keeps the other metrics and the behavior
	// (they ride in the annotations) and drops the annotations from what is stored.
	old.Spec.TargetCPUUtilizationPercentage = ptr.To[int32](60)
	if _, err := v1.Update(ctx, old, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if hpa, err = v2.Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(hpa.Spec.Metrics) != 2 || hpa.Spec.Metrics[0].Type != autoscalingv2.PodsMetricSourceType ||
		*hpa.Spec.Metrics[1].Resource.Target.AverageUtilization != 60 || hpa.Spec.Behavior == nil ||
		*hpa.Spec.Behavior.ScaleDown.StabilizationWindowSeconds != 30 || len(hpa.Annotations) != 0 || len(hpa.Status.Conditions) != 1 {
		t.Errorf("after a v1 update: spec %+v, annotations %v, status %+v", hpa.Spec, hpa.Annotations, hpa.Status)
	}

	// A v1 autoscaler without a target gets upstream's 80% CPU.
	if _, err := v1.Create(ctx, &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "plain"},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv1.CrossVersionObjectReference(ref), MaxReplicas: 3}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	plain, err := v2.Get(ctx, "plain", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Spec.Metrics) != 1 || *plain.Spec.Metrics[0].Resource.Target.AverageUtilization != 80 || *plain.Spec.MinReplicas != 1 {
		t.Errorf("v1 without target: %+v", plain.Spec)
	}

	// Validation with upstream's field paths, for either version.
	_, err = v2.Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "bad"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: ref, MinReplicas: ptr.To[int32](3), MaxReplicas: 2,
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
				Policies: []autoscalingv2.HPAScalingPolicy{{Type: "Pods", Value: 0, PeriodSeconds: 15}}}}}}, metav1.CreateOptions{})
	wantInvalid(t, err, "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`",
		"spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero")
	_, err = v1.Create(ctx, &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "bad"},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Name: "web"}, MaxReplicas: 2,
			TargetCPUUtilizationPercentage: ptr.To[int32](0)}}, metav1.CreateOptions{})
	wantInvalid(t, err, "spec.scaleTargetRef.kind: Required value",
		"spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0")
}

func wantInvalid(t *testing.T, err error, msgs ...string) {
	t.Helper()
	if !apierrors.IsInvalid(err) {
		t.Fatalf("want 422, got %v", err)
	}
	for _, m := range msgs {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q lacks %q", err, m)
		}
	}
}

// TestKubectlAutoscale runs the real kubectl (on PATH; skipped without it): `kubectl autoscale`
// creates an autoscaler for a Deployment and `kubectl get hpa` prints upstream's columns.
func TestKubectlAutoscale(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not on PATH")
	}
	s := apiservertest.Start(t)
	ctx := context.Background()
	labels := map[string]string{"app": "web"}
	if _, err := s.Client.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "busybox"}}}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubectl := func(args ...string) string {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		out, err := exec.CommandContext(cctx, "kubectl", append([]string{"--kubeconfig", s.Kubeconfig, "-n", "default"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := kubectl("autoscale", "deployment", "web", "--cpu-percent=50", "--min=1", "--max=5"); !strings.Contains(out, "horizontalpodautoscaler.autoscaling/web autoscaled") {
		t.Errorf("kubectl autoscale: %q", out)
	}
	out := kubectl("get", "hpa")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE" ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "web Deployment/web cpu: <unknown>/50% 1 5 0 ") {
		t.Errorf("kubectl get hpa:\n%s", out)
	}
	hpa, err := s.Client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hpa.Spec.ScaleTargetRef.Kind != "Deployment" || *hpa.Spec.Metrics[0].Resource.Target.AverageUtilization != 50 {
		t.Errorf("kubectl's autoscaler: %+v", hpa.Spec)
	}

	// With a status, TARGETS shows the current utilization; describe reads it too.
	hpa.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 2, DesiredReplicas: 2,
		CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
			Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](10), AverageValue: ptr.To(resource.MustParse("10m"))}}}},
		Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue,
			Reason: "ValidMetricFound", Message: "the HPA was able to successfully calculate a replica count", LastTransitionTime: metav1.Now()}}}
	if _, err := s.Client.AutoscalingV2().HorizontalPodAutoscalers("default").UpdateStatus(ctx, hpa, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	out = kubectl("get", "hpa", "web", "--no-headers")
	if !strings.HasPrefix(strings.Join(strings.Fields(out), " "), "web Deployment/web cpu: 10%/50% 1 5 2 ") {
		t.Errorf("kubectl get hpa with status: %q", out)
	}
	if out := kubectl("describe", "hpa", "web"); !strings.Contains(out, "ScalingActive") || !strings.Contains(out, "ValidMetricFound") {
		t.Errorf("kubectl describe hpa:\n%s", out)
	}
	if out := kubectl("explain", "hpa.spec.behavior.scaleDown"); !strings.Contains(out, "stabilizationWindowSeconds") {
		t.Errorf("kubectl explain:\n%s", out)
	}

	// Server-side apply of a v1 manifest, then of a change to it.
	apply := func(cpu string) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, "kubectl", "--kubeconfig", s.Kubeconfig, "-n", "default", "apply", "--server-side", "-f", "-")
		cmd.Stdin = strings.NewReader(`{"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "applied"},
			"spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 4, "targetCPUUtilizationPercentage": ` + cpu + `}}`)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kubectl apply --server-side: %v\n%s", err, out)
		}
	}
	apply("60")
	apply("70")
	applied, err := s.Client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, "applied", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *applied.Spec.Metrics[0].Resource.Target.AverageUtilization != 70 || len(applied.ManagedFields) == 0 {
		t.Errorf("applied: %+v, managed fields %v", applied.Spec, applied.ManagedFields)
	}
}
