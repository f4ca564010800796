package podautoscaler_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/deployment"
	"github.com/skiff-dev/skiff/controllers/podautoscaler"
	"github.com/skiff-dev/skiff/controllers/replicaset"
	"github.com/skiff-dev/skiff/controllers/statefulset"
	"github.com/skiff-dev/skiff/test/poll"
)

// fakeMetrics reports the same CPU usage (millicores) for every selected pod; custom and
// external metrics fail as without their APIs.
type fakeMetrics struct {
	podautoscaler.APIMetrics
	client kubernetes.Interface
	cpu    atomic.Int64
}

func (f *fakeMetrics) ResourceMetric(ctx context.Context, _ corev1.ResourceName, ns string, selector labels.Selector, _ string) (podautoscaler.PodMetrics, time.Time, error) {
	pods, err := f.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, time.Time{}, err
	}
	now := time.Now()
	out := podautoscaler.PodMetrics{}
	for _, p := range pods.Items {
		out[p.Name] = podautoscaler.PodMetric{Timestamp: now, Window: time.Millisecond, Value: f.cpu.Load()}
	}
	return out, now, nil
}

// start runs the API server, the workload controllers given, the autoscaler (200 ms sync period,
// fake metrics) and a stand-in kubelet for namespace default.
func start(t *testing.T, workloads ...controllertest.Setup) (*apiservertest.Server, *fakeMetrics) {
	metrics := &fakeMetrics{}
	autoscaler := func(mgr manager.Manager) error {
		return (&podautoscaler.Controller{Base: controllers.Base{SkipNameValidation: true}, Metrics: metrics,
			Settings: podautoscaler.Settings{SyncPeriod: 200 * time.Millisecond}}).SetupWithManager(mgr)
	}
	s := controllertest.Start(t, append(workloads, autoscaler)...)
	metrics.client = s.Client
	controllertest.StartKubelet(t, &controllertest.Kubelet{Client: s.Client, Namespace: "default", FinishDeletions: true})
	return s, metrics
}

func webDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas),
		Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "busybox", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}}}}}
}

func target(name string) autoscalingv2.CrossVersionObjectReference {
	return autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name}
}

// TestAutoscaleDeployment: an autoscaler on a Deployment scales it up to maxReplicas under load
// and back down to minReplicas after its (short) scale-down window, with upstream's conditions,
// events and status; a Pods metric without custom.metrics.k8s.io gives ScalingActive False.
func TestAutoscaleDeployment(t *testing.T) {
	s, metrics := start(t,
		(&deployment.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager,
		(&replicaset.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager)
	ctx, c := t.Context(), s.Client
	for _, d := range []*appsv1.Deployment{webDeployment("web", 1), webDeployment("other", 1)} {
		if _, err := c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	metrics.cpu.Store(200) // 200% of the request against a target of 50%
	hpas := c.AutoscalingV2().HorizontalPodAutoscalers("default")
	if _, err := hpas.Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: target("web"), MinReplicas: ptr.To[int32](1), MaxReplicas: 5,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)}}}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](1)}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// Up: 1 → 4 (4 times the target), then to the maximum, 5, where it is limited.
	hpa := waitForHPA(t, c, "web", "scaled up to 5", func(h *autoscalingv2.HorizontalPodAutoscaler) bool {
		return h.Status.DesiredReplicas == 5 && h.Status.CurrentReplicas == 5 && condition(h, autoscalingv2.ScalingLimited) == "True/TooManyReplicas"
	})
	if condition(hpa, autoscalingv2.ScalingActive) != "True/ValidMetricFound" || hpa.Status.LastScaleTime == nil ||
		len(hpa.Status.CurrentMetrics) != 1 || *hpa.Status.CurrentMetrics[0].Resource.Current.AverageUtilization != 200 {
		t.Errorf("status after scaling up: %+v", hpa.Status)
	}
	waitForReplicas(t, c, "web", 5)
	waitForEvent(t, c, "web", "SuccessfulRescale", "New size: 4; reason: cpu resource utilization (percentage of request) above target")
	waitForEvent(t, c, "web", "SuccessfulRescale", "New size: 5; reason: cpu resource utilization (percentage of request) above target")

	// Down: idle pods, one second of stabilization, then to the minimum.
	metrics.cpu.Store(5)
	waitForHPA(t, c, "web", "scaled down to 1", func(h *autoscalingv2.HorizontalPodAutoscaler) bool {
		return h.Status.DesiredReplicas == 1 && h.Status.CurrentReplicas == 1
	})
	waitForReplicas(t, c, "web", 1)
	waitForEvent(t, c, "web", "SuccessfulRescale", "New size: 1; reason: All metrics below target")

	// A Pods metric: custom.metrics.k8s.io is not served.
	if _, err := hpas.Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "other"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: target("other"), MaxReplicas: 3,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "qps"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("10"))}}}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	other := waitForHPA(t, c, "other", "ScalingActive False", func(h *autoscalingv2.HorizontalPodAutoscaler) bool {
		return condition(h, autoscalingv2.ScalingActive) == "False/FailedGetPodsMetric"
	})
	if conditionMessage(other, autoscalingv2.ScalingActive) != "the HPA was unable to compute the replica count: unable to get metric qps: "+
		"unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered" ||
		condition(other, autoscalingv2.AbleToScale) != "True/SucceededGetScale" || other.Status.CurrentReplicas != 1 {
		t.Errorf("Pods metric status: %+v", other.Status)
	}
	waitForEvent(t, c, "other", "FailedGetPodsMetric", "unable to get metric qps: unable to fetch metrics from custom metrics API: no custom metrics API")
	waitForEvent(t, c, "other", "FailedComputeMetricsReplicas", "invalid metrics (1 invalid out of 1), first error is: failed to get pods metric value")

	// A second autoscaler of the same pods: both stop, with upstream's AmbiguousSelector.
	second := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web-2"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: target("web"), MaxReplicas: 3}}
	if _, err := hpas.Create(ctx, second, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web", "web-2"} {
		h := waitForHPA(t, c, name, "AmbiguousSelector", func(h *autoscalingv2.HorizontalPodAutoscaler) bool {
			return condition(h, autoscalingv2.ScalingActive) == "False/AmbiguousSelector"
		})
		if msg := conditionMessage(h, autoscalingv2.ScalingActive); msg != "pods by selector app=web are controlled by multiple HPAs: [{web default} {web-2 default}]" {
			t.Errorf("%s: %q", name, msg)
		}
	}
}

func waitForHPA(t *testing.T, c kubernetes.Interface, name, what string, cond func(*autoscalingv2.HorizontalPodAutoscaler) bool) *autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	var hpa *autoscalingv2.HorizontalPodAutoscaler
	poll.Eventually(t, what, func() error {
		var err error
		if hpa, err = c.AutoscalingV2().HorizontalPodAutoscalers("default").Get(t.Context(), name, metav1.GetOptions{}); err != nil {
			return err
		}
		if !cond(hpa) {
			return fmt.Errorf("status %+v", hpa.Status)
		}
		return nil
	})
	return hpa
}

func waitForReplicas(t *testing.T, c kubernetes.Interface, name string, want int32) {
	t.Helper()
	poll.Eventually(t, fmt.Sprintf("%s at %d replicas", name, want), func() error {
		d, err := c.AppsV1().Deployments("default").Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if *d.Spec.Replicas != want {
			return fmt.Errorf("spec.replicas %d", *d.Spec.Replicas)
		}
		return nil
	})
}

func waitForEvent(t *testing.T, c kubernetes.Interface, hpa, reason, message string) {
	t.Helper()
	poll.Eventually(t, fmt.Sprintf("event %s %q", reason, message), func() error {
		evs, err := c.CoreV1().Events("default").List(t.Context(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + hpa + ",reason=" + reason})
		if err != nil {
			return err
		}
		var seen []string
		for _, e := range evs.Items {
			if e.InvolvedObject.Kind == "HorizontalPodAutoscaler" && e.Source.Component == podautoscaler.EventSource && strings.HasPrefix(e.Message, message) {
				return nil
			}
			seen = append(seen, e.Message)
		}
		return fmt.Errorf("events %q", seen)
	})
}

func condition(h *autoscalingv2.HorizontalPodAutoscaler, typ autoscalingv2.HorizontalPodAutoscalerConditionType) string {
	for _, c := range h.Status.Conditions {
		if c.Type == typ {
			return string(c.Status) + "/" + c.Reason
		}
	}
	return ""
}

func conditionMessage(h *autoscalingv2.HorizontalPodAutoscaler, typ autoscalingv2.HorizontalPodAutoscalerConditionType) string {
	for _, c := range h.Status.Conditions {
		if c.Type == typ {
			return c.Message
		}
	}
	return ""
}

// TestAutoscaleStatefulSet: the scale subresource of another kind, through the scale client and
// the discovery REST mapper.
func TestAutoscaleStatefulSet(t *testing.T) {
	s, metrics := start(t, (&statefulset.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager)
	ctx, c := t.Context(), s.Client
	d := webDeployment("db", 1)
	set := &appsv1.StatefulSet{ObjectMeta: d.ObjectMeta, Spec: appsv1.StatefulSetSpec{Replicas: d.Spec.Replicas, Selector: d.Spec.Selector,
		Template: d.Spec.Template, PodManagementPolicy: appsv1.ParallelPodManagement}}
	if _, err := c.AppsV1().StatefulSets("default").Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	metrics.cpu.Store(100) // twice the target
	if _, err := c.AutoscalingV2().HorizontalPodAutoscalers("default").Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db"},
			MaxReplicas: 2}}, metav1.CreateOptions{}); err != nil { // the default target: 80% CPU
		t.Fatal(err)
	}
	waitForHPA(t, c, "db", "scaled to 2", func(h *autoscalingv2.HorizontalPodAutoscaler) bool {
		return h.Status.DesiredReplicas == 2 && condition(h, autoscalingv2.AbleToScale) != "" && h.Status.LastScaleTime != nil
	})
	poll.Eventually(t, "statefulset at 2 replicas", func() error {
		got, err := c.AppsV1().StatefulSets("default").Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if *got.Spec.Replicas != 2 {
			return fmt.Errorf("spec.replicas %d", *got.Spec.Replicas)
		}
		return nil
	})
}

// TestAutoscaleCustomResource: a custom resource with a scale subresource, found through
// discovery once its CRD is served.
func TestAutoscaleCustomResource(t *testing.T) {
	srv, metrics := start(t)
	ctx, c, s := t.Context(), srv.Client, srv.Config
	crds := apiextensionsclient.NewForConfigOrDie(s).ApiextensionsV1().CustomResourceDefinitions()
	schema := &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr.To(true)}}
	if _, err := crds.Create(ctx, &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "workers.skiff.test"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: "skiff.test", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "workers", Singular: "worker", Kind: "Worker", ListKind: "WorkerList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true, Schema: schema,
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{},
					Scale: &apiextensionsv1.CustomResourceSubresourceScale{SpecReplicasPath: ".spec.replicas", StatusReplicasPath: ".status.replicas",
						LabelSelectorPath: ptr.To(".status.selector")}}}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	workers := dynamic.NewForConfigOrDie(s).Resource(k8sschema.GroupVersionResource{Group: "skiff.test", Version: "v1", Resource: "workers"}).Namespace("default")
	var w *unstructured.Unstructured
	poll.Eventually(t, "the CRD is served", func() error {
		var err error
		w, err = workers.Create(ctx, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "skiff.test/v1", "kind": "Worker",
			"metadata": map[string]any{"name": "w"}, "spec": map[string]any{"replicas": int64(2)}}}, metav1.CreateOptions{})
		return err
	})
	w.Object["status"] = map[string]any{"replicas": int64(2), "selector": "app=worker"}
	if _, err := workers.UpdateStatus(ctx, w, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The worker's pods (nothing runs custom resources here): the stand-in kubelet readies them.
	for i := range 2 {
		p := webDeployment("worker", 1).Spec.Template
		if _, err := c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("worker-%d", i), Labels: p.Labels},
			Spec: p.Spec}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	metrics.cpu.Store(10) // a tenth of the request against 50%: down to one
	if _, err := c.AutoscalingV2().HorizontalPodAutoscalers("default").Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "w"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "skiff.test/v1", Kind: "Worker", Name: "w"},
			MaxReplicas: 4, Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)}}}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](0)}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "the worker scaled to 1", func() error {
		got, err := workers.Get(ctx, "w", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if n, _, _ := unstructured.NestedInt64(got.Object, "spec", "replicas"); n != 1 {
			return fmt.Errorf("spec.replicas %d", n)
		}
		return nil
	})
	waitForEvent(t, c, "w", "SuccessfulRescale", "New size: 1; reason: All metrics below target")
}

// TestWithoutMetricsAPI: the real metrics source against a server without metrics.k8s.io, and a
// missing target: upstream's FailedGetResourceMetric and FailedGetScale.
func TestWithoutMetricsAPI(t *testing.T) {
	// No resource metrics API (the built-in one turned off, as when metrics-server is absent).
	s := apiservertest.StartWith(t, func(o *apiserver.Options) { o.DisableMetricsAPI = true })
	controllertest.StartManager(t, s,
		(&deployment.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager,
		(&replicaset.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager,
		(&podautoscaler.Controller{Base: controllers.Base{SkipNameValidation: true}, Settings: podautoscaler.Settings{SyncPeriod: 200 * time.Millisecond}}).SetupWithManager)
	controllertest.StartKubelet(t, &controllertest.Kubelet{Client: s.Client, Namespace: "default"})
	ctx, c := t.Context(), s.Client
	for _, d := range []*appsv1.Deployment{webDeployment("web", 2), webDeployment("obj", 1), webDeployment("ext", 1)} {
		if _, err := c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	hpas := c.AutoscalingV2().HorizontalPodAutoscalers("default")
	two := ptr.To(resource.MustParse("2"))
	metricsOf := map[string][]autoscalingv2.MetricSpec{
		"obj": {{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{DescribedObject: target("obj"),
			Metric: autoscalingv2.MetricIdentifier{Name: "hits"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: two}}}},
		"ext": {{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "queue"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: two}}}},
	}
	for _, name := range []string{"web", "missing", "obj", "ext"} {
		if _, err := hpas.Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: target(name), MaxReplicas: 3, Metrics: metricsOf[name]}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	web := waitForHPA(t, c, "web", "FailedGetResourceMetric", func(h *autoscalingv2.HorizontalPodAutoscaler) bool {
		return condition(h, autoscalingv2.ScalingActive) == "False/FailedGetResourceMetric"
	})
	if msg := conditionMessage(web, autoscalingv2.ScalingActive); !strings.HasPrefix(msg,
		"the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API:") {
		t.Errorf("ScalingActive message %q", msg)
	}
	// The desired replicas stay what they were (never computed), as upstream.
	if web.Status.CurrentReplicas != 2 || web.Status.DesiredReplicas != 0 || condition(web, autoscalingv2.AbleToScale) != "True/SucceededGetScale" {
		t.Errorf("status %+v", web.Status)
	}
	waitForEvent(t, c, "web", "FailedGetResourceMetric", "failed to get cpu utilization: unable to get metrics for resource cpu")
	missing := waitForHPA(t, c, "missing", "FailedGetScale", func(h *autoscalingv2.HorizontalPodAutoscaler) bool {
		return condition(h, autoscalingv2.AbleToScale) == "False/FailedGetScale"
	})
	if msg := conditionMessage(missing, autoscalingv2.AbleToScale); !strings.Contains(msg, `deployments.apps "missing" not found`) {
		t.Errorf("AbleToScale message %q", msg)
	}
	waitForEvent(t, c, "missing", "FailedGetScale", `deployments.apps "missing" not found`)

	// Object and External metrics without custom.metrics.k8s.io and external.metrics.k8s.io.
	for name, want := range map[string]string{
		"obj": "False/FailedGetObjectMetric: the HPA was unable to compute the replica count: unable to get metric hits: " +
			"unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered on Deployment default/obj",
		"ext": "False/FailedGetExternalMetric: the HPA was unable to compute the replica count: unable to get external metric default/queue/: " +
			"unable to fetch metrics from external metrics API: the server could not find the requested resource (get queue.external.metrics.k8s.io)",
	} {
		waitForHPA(t, c, name, want, func(h *autoscalingv2.HorizontalPodAutoscaler) bool {
			return condition(h, autoscalingv2.ScalingActive)+": "+conditionMessage(h, autoscalingv2.ScalingActive) == want
		})
	}
	waitForEvent(t, c, "ext", "FailedComputeMetricsReplicas", "invalid metrics (1 invalid out of 1), first error is: failed to get queue external metric value: unable to get external metric")
}
