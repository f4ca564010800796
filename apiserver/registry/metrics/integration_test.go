package metrics_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsclientset "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/test/poll"
)

// fakeNode serves a kubelet's /metrics/resource as a node agent of api (NodeAgentServer): the
// node uses half a core and 1Gi, the container app of pod default/web a tenth of a core and
// 4Mi, every series stamped with the time of the scrape.
func fakeNode(t *testing.T, api *apiservertest.Server) *httptest.Server {
	t.Helper()
	start := time.Now()
	return api.NodeAgentServer(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics/resource" {
			http.NotFound(w, r)
			return
		}
		ms := time.Now().UnixMilli()
		elapsed := float64(ms-start.UnixMilli()) / 1000
		fmt.Fprintf(w, "node_cpu_usage_seconds_total %g %d\n", 1000+0.5*elapsed, ms)
		fmt.Fprintf(w, "node_memory_working_set_bytes %d %d\n", 1<<30, ms)
		fmt.Fprintf(w, "container_cpu_usage_seconds_total{container=\"app\",namespace=\"default\",pod=\"web\"} %g %d\n", 10+0.1*elapsed, ms)
		fmt.Fprintf(w, "container_memory_working_set_bytes{container=\"app\",namespace=\"default\",pod=\"web\"} %d %d\n", 4<<20, ms)
		fmt.Fprintf(w, "container_start_time_seconds{container=\"app\",namespace=\"default\",pod=\"web\"} %d\n", start.Add(-time.Hour).Unix())
		fmt.Fprintf(w, "resource_scrape_error 0\n")
	}))
}

func node(name string, ready corev1.ConditionStatus, port int32, labels map[string]string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Status: corev1.NodeStatus{
			Conditions:      []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}},
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: port}},
			Capacity:        corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")},
			Allocatable:     corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")},
		}}
}

// TestMetricsAPI runs the real API server with a Ready Node whose kubelet endpoint is a fake
// node's /metrics/resource, and a NotReady one: through the k8s.io/metrics clientset (what
// kubectl top uses), NodeMetrics and PodMetrics carry the rates between two scrapes; label and
// field selectors filter them; pods without metrics and nodes that are not scraped are absent
// (NotFound on get); tables have metrics-server's columns; and `kubectl top` prints them.
func TestMetricsAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	api := apiservertest.StartOnWith(t, t.TempDir(), func(o *apiserver.Options) { o.MetricResolution = 500 * time.Millisecond })
	fake := fakeNode(t, api)
	port := int32(fake.Listener.Addr().(*net.TCPAddr).Port)
	nodes := api.Client.CoreV1().Nodes()
	for _, n := range []*corev1.Node{
		node("metrics-node", corev1.ConditionTrue, port, map[string]string{"tier": "metrics"}),
		// NotReady: never scraped, though it points at the same endpoint.
		node("down-node", corev1.ConditionFalse, port, map[string]string{"tier": "metrics"}),
	} {
		if _, err := nodes.Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"web", "idle"} {
		p, err := api.Client.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
			Spec:       corev1.PodSpec{NodeName: "metrics-node", Containers: []corev1.Container{{Name: "app", Image: "busybox"}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.Phase = corev1.PodRunning
		if _, err := api.Client.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	mc, err := metricsclientset.NewForConfig(api.Config)
	if err != nil {
		t.Fatal(err)
	}
	m := mc.MetricsV1beta1()
	poll.Until(t, 30*time.Second, "node metrics of metrics-node", func() error {
		_, err := m.NodeMetricses().Get(ctx, "metrics-node", metav1.GetOptions{})
		return err
	})
	nm, err := m.NodeMetricses().Get(ctx, "metrics-node", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cpu, mem := nm.Usage.Cpu(), nm.Usage.Memory(); cpu.MilliValue() != 500 || mem.String() != "1Gi" || nm.Window.Duration <= 0 || nm.Labels["tier"] != "metrics" {
		t.Errorf("node metrics: cpu %s memory %s window %v labels %v", cpu, mem, nm.Window.Duration, nm.Labels)
	}
	// The scraper's own metrics, metrics-server's names, on the API server's /metrics.
	raw, err := api.Client.RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`metrics_server_kubelet_request_total{success="true"}`, `metrics_server_kubelet_request_duration_seconds_count{node="metrics-node"}`,
		`metrics_server_storage_points{type="node"} 1`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	// The NotReady node has no metrics; a missing node is the node's own NotFound.
	if _, err := m.NodeMetricses().Get(ctx, "down-node", metav1.GetOptions{}); !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), `nodes.metrics.k8s.io "down-node" not found`) {
		t.Errorf("NotReady node: %v", err)
	}
	if _, err := m.NodeMetricses().Get(ctx, "nope", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("missing node: %v", err)
	}
	for _, tc := range []struct {
		label, field string
		want         int
	}{{"", "", 1}, {"tier=metrics", "", 1}, {"tier=other", "", 0}, {"", "metadata.name=metrics-node", 1}, {"", "metadata.name=down-node", 0}} {
		list, err := m.NodeMetricses().List(ctx, metav1.ListOptions{LabelSelector: tc.label, FieldSelector: tc.field})
		if err != nil || len(list.Items) != tc.want {
			t.Errorf("nodes %q %q: %v %v, want %d", tc.label, tc.field, list, err, tc.want)
		}
	}

	poll.Until(t, 30*time.Second, "pod metrics of default/web", func() error {
		_, err := m.PodMetricses("default").Get(ctx, "web", metav1.GetOptions{})
		return err
	})
	pm, err := m.PodMetricses("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pm.Containers) != 1 || pm.Containers[0].Name != "app" || pm.Containers[0].Usage.Cpu().MilliValue() != 100 ||
		pm.Containers[0].Usage.Memory().String() != "4Mi" || pm.Labels["app"] != "web" {
		t.Errorf("pod metrics: %+v", pm)
	}
	if _, err := m.PodMetricses("default").Get(ctx, "idle", metav1.GetOptions{}); !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), `pods.metrics.k8s.io "default/idle" not found`) {
		t.Errorf("pod without metrics: %v", err)
	}
	for _, tc := range []struct {
		ns, label, field string
		want             int
	}{{"default", "", "", 1}, {"", "", "", 1}, {"default", "app=web", "", 1}, {"default", "app=idle", "", 0},
		{"kube-system", "", "", 0}, {"", "", "metadata.namespace=default,metadata.name=web", 1}, {"default", "", "metadata.name=idle", 0}} {
		list, err := m.PodMetricses(tc.ns).List(ctx, metav1.ListOptions{LabelSelector: tc.label, FieldSelector: tc.field})
		if err != nil || len(list.Items) != tc.want {
			t.Errorf("pods in %q %q %q: %v %v, want %d", tc.ns, tc.label, tc.field, list, err, tc.want)
		}
	}
	if _, err := m.PodMetricses("default").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=x"}); !apierrors.IsBadRequest(err) {
		t.Errorf("unsupported field selector: %v", err)
	}

	// Tables: metrics-server's columns.
	for _, path := range []string{"/apis/metrics.k8s.io/v1beta1/nodes", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods"} {
		var table metav1.Table
		err := api.Client.RESTClient().Get().AbsPath(path).SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(ctx).Into(&table)
		if err != nil {
			t.Fatalf("table %s: %v", path, err)
		}
		var cols []string
		for _, c := range table.ColumnDefinitions {
			cols = append(cols, c.Name)
		}
		if strings.Join(cols, ",") != "Name,cpu,memory,Window" || len(table.Rows) != 1 {
			t.Errorf("table %s: columns %v rows %v", path, cols, table.Rows)
		}
	}

	// kubectl top, as a user would run it.
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Logf("kubectl not found, skipping kubectl top: %v", err)
		return
	}
	kubectl := func(args ...string) string {
		out, err := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", api.Kubeconfig}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := kubectl("top", "nodes")
	if !regexp.MustCompile(`(?m)^NAME\s+CPU\(cores\)\s+CPU\(%\)\s+MEMORY\(bytes\)\s+MEMORY\(%\)\s*$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^metrics-node\s+500m\s+12%\s+1024Mi\s+12%\s*$`).MatchString(out) {
		t.Errorf("kubectl top nodes:\n%s", out)
	}
	out = kubectl("top", "pods", "--containers", "-n", "default")
	if !regexp.MustCompile(`(?m)^POD\s+NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\s*$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^web\s+app\s+100m\s+4Mi\s*$`).MatchString(out) {
		t.Errorf("kubectl top pods --containers:\n%s", out)
	}
	t.Logf("kubectl top pods --containers:\n%s", out)
}

// TestMetricsAPIDisabled: with DisableMetricsAPI the group is not served (left to
// metrics-server), while the aggregated-metrics-reader role is still there for it.
func TestMetricsAPIDisabled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server")
	}
	ctx := context.Background()
	api := apiservertest.StartOnWith(t, t.TempDir(), func(o *apiserver.Options) { o.DisableMetricsAPI = true })
	groups, err := api.Client.Discovery().ServerGroups()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups.Groups {
		if g.Name == "metrics.k8s.io" {
			t.Errorf("metrics.k8s.io served with DisableMetricsAPI")
		}
	}
	role, err := api.Client.RbacV1().ClusterRoles().Get(ctx, "system:aggregated-metrics-reader", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if role.Labels["rbac.authorization.k8s.io/aggregate-to-view"] != "true" || len(role.Rules) != 1 || role.Rules[0].APIGroups[0] != "metrics.k8s.io" {
		t.Errorf("aggregated-metrics-reader: %+v", role)
	}
}
