package simulated_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	metricsclientset "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/apiserver/pki"
	"github.com/skiff-dev/skiff/nodeagent/simulated"
	"github.com/skiff-dev/skiff/test/poll"
)

func runningPod(name string, phase corev1.PodPhase, started time.Time, containers ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)}, Status: corev1.PodStatus{Phase: phase}}
	for _, c := range containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(started)}}})
	}
	return p
}

// TestSimulatedSummary: running containers use 5m and 16Mi since they started, the node 150m
// and 512Mi more than its pods since it booted; pods that do not run are left out.
func TestSimulatedSummary(t *testing.T) {
	boot := time.Unix(1700000000, 0)
	now := boot.Add(100 * time.Second)
	s := simulated.SimulatedSummary("sim-0", boot, []*corev1.Pod{
		runningPod("web", corev1.PodRunning, boot.Add(60*time.Second), "app", "sidecar"),
		runningPod("done", corev1.PodSucceeded, boot),
	}, now)
	if len(s.Pods) != 1 || len(s.Pods[0].Containers) != 2 {
		t.Fatalf("pods: %+v", s.Pods)
	}
	for _, tc := range []struct {
		what     string
		cpu, mem uint64
		wantCPU  uint64
		wantMem  uint64
	}{
		// 5m for 40 s: 0.2 core-seconds.
		{"container", *s.Pods[0].Containers[0].CPU.UsageCoreNanoSeconds, *s.Pods[0].Containers[0].Memory.WorkingSetBytes, 2e8, 16 << 20},
		{"pod", *s.Pods[0].CPU.UsageCoreNanoSeconds, *s.Pods[0].Memory.WorkingSetBytes, 4e8, 32 << 20},
		// 150m for 100 s, plus the pod's.
		{"node", *s.Node.CPU.UsageCoreNanoSeconds, *s.Node.Memory.WorkingSetBytes, 15e9 + 4e8, 544 << 20},
	} {
		if tc.cpu != tc.wantCPU || tc.mem != tc.wantMem {
			t.Errorf("%s: cpu %d memory %d, want %d %d", tc.what, tc.cpu, tc.mem, tc.wantCPU, tc.wantMem)
		}
	}
}

// TestSimulatedNodeMetrics runs a simulated node that serves its statistics against the real
// API server: the metrics API gives the simulated usage of the node and of a pod bound to it.
func TestSimulatedNodeMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	api := apiservertest.StartOnWith(t, t.TempDir(), func(o *apiserver.Options) { o.MetricResolution = 500 * time.Millisecond })
	ca := api.CA(t)
	certPEM, keyPEM, err := ca.Issue(pki.CertSpec{CommonName: "system:node:sim-m", Server: true, IPs: []net.IP{net.ParseIP("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	startNode(ctx, t, simulated.Config{Name: "sim-m", Client: api.Client, PodCIDR: "10.250.0.0/24",
		Server: &simulated.ServerConfig{Listener: l, CertPEM: certPEM, KeyPEM: keyPEM, ClientCAs: pool}})
	if _, err := api.Client.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.PodSpec{NodeName: "sim-m", Containers: []corev1.Container{{Name: "app", Image: "busybox"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mc, err := metricsclientset.NewForConfig(api.Config)
	if err != nil {
		t.Fatal(err)
	}
	near := func(got, want int64) bool { return got > want-2e6 && got < want+2e6 }
	poll.Until(t, 60*time.Second, "simulated usage in the metrics API", func() error {
		nm, err := mc.MetricsV1beta1().NodeMetricses().Get(ctx, "sim-m", metav1.GetOptions{})
		if err != nil {
			return err
		}
		pm, err := mc.MetricsV1beta1().PodMetricses("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(pm.Containers) != 1 || !near(pm.Containers[0].Usage.Cpu().ScaledValue(-9), 5e6) || pm.Containers[0].Usage.Memory().String() != "16Mi" ||
			!near(nm.Usage.Cpu().ScaledValue(-9), 155e6) || nm.Usage.Memory().String() != "528Mi" {
			return fmt.Errorf("node %v, pod %v", nm.Usage, pm.Containers)
		}
		return nil
	})
}
