package proxy

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/nodeagent/nftrules"
	"github.com/skiff-dev/skiff/test/poll"
)

// Addresses of the integration test, all in the test namespaces: the node's pod side
// (192.0.2.0/24, the "pod CIDR"), an off-cluster client (198.51.100.0/24), service IPs in
// the default service CIDR (the namespaces are private to the test).
const (
	nodePodSide   = "192.0.2.1"
	podIP         = "192.0.2.2"
	nodeOuterSide = "198.51.100.1"
	clientIP      = "198.51.100.2"
	webIP         = "10.96.200.10"
	emptyIP       = "10.96.200.11"
)

// startProxier runs a proxier until the returned stop is called (or the test ends).
func startProxier(t *testing.T, cfg Config) (*Proxier, func()) {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Start(ctx) }()
	var stopped atomic.Bool
	stop := func() {
		if stopped.Swap(true) {
			return
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxier: %v", err)
		}
	}
	t.Cleanup(stop)
	return p, stop
}

func createSlice(t *testing.T, c kubernetes.Interface, svc string, ports []int32) *discoveryv1.EndpointSlice {
	t.Helper()
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: svc + "-1", Labels: map[string]string{labelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To[int32](0)}},
	}
	setEndpoints(s, ports)
	s, err := c.DiscoveryV1().EndpointSlices("default").Create(context.Background(), s, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// setEndpoints makes s hold the pod's endpoint on the first of ports (none without ports).
func setEndpoints(s *discoveryv1.EndpointSlice, ports []int32) {
	s.Endpoints = nil
	if len(ports) == 0 {
		return
	}
	s.Ports[0].Port = ptr.To(ports[0])
	s.Endpoints = []discoveryv1.Endpoint{{Addresses: []string{podIP}, NodeName: ptr.To("node-a"),
		Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}}
}

func createService(t *testing.T, c kubernetes.Interface, name, ip string, mutate ...func(*corev1.Service)) {
	t.Helper()
	svc := testService(name, ip, mutate...)
	if _, err := c.CoreV1().Services("default").Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestRealNFTables runs the proxy against the real API server with real nftables inside a
// network namespace (the node), with a "pod" namespace serving HTTP behind a veth and an
// off-cluster client namespace: ClusterIP from the node itself, from the client and from the
// pod to itself (hairpin), NodePort, reject without endpoints, endpoint changes within a
// second, a restart without a failed request, and Cleanup.
func TestRealNFTables(t *testing.T) {
	requireNetns(t)
	node := newNetns(t, "skp-node")
	pod := newNetns(t, "skp-pod")
	client := newNetns(t, "skp-cli")
	veth(t, node, "vpod", nodePodSide+"/24", pod, "eth0", podIP+"/24")
	veth(t, node, "vcli", nodeOuterSide+"/24", client, "eth0", clientIP+"/24")
	run(t, "ip", "-n", pod.Name, "route", "add", "default", "via", nodePodSide)
	run(t, "ip", "-n", client.Name, "route", "add", "default", "via", nodeOuterSide)
	// The node's uplink, where its default route (and so a ClusterIP's) points: a veth with
	// nothing behind it.
	run(t, "ip", "-n", node.Name, "link", "add", "up0", "type", "veth", "peer", "name", "up0p")
	run(t, "ip", "-n", node.Name, "addr", "add", "203.0.113.1/24", "dev", "up0")
	run(t, "ip", "-n", node.Name, "link", "set", "up0", "up")
	run(t, "ip", "-n", node.Name, "link", "set", "up0p", "up")
	run(t, "ip", "-n", node.Name, "route", "add", "default", "via", "203.0.113.2")
	run(t, "ip", "netns", "exec", node.Name, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	serveIn(t, pod, podIP+":8080", "pod-a")
	serveIn(t, pod, podIP+":8081", "pod-b")

	srv := apiservertest.Start(t)
	c := srv.Client
	const table = "skiff-proxy-test"
	nft := nftIn(t, node, table)
	t.Cleanup(func() { _ = nftrules.DeleteTable(context.Background(), nft) })
	cfg := Config{NodeName: "node-a", Client: c, PodCIDRs: []string{"192.0.2.0/24"}, TableName: table, NFTables: nft}
	p, stop := startProxier(t, cfg)

	createService(t, c, "web", webIP, func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeNodePort
		s.Spec.Ports[0].NodePort = 30080
	})
	createService(t, c, "empty", emptyIP)
	createSlice(t, c, "empty", nil)
	webA := createSlice(t, c, "web", []int32{8080})

	cip := webIP + ":80"
	answers := func(from *netnsEnv, addr, want string) func() error {
		return func() error {
			body, err := get(from, addr, time.Second)
			if err != nil {
				return err
			}
			if body != want {
				return errors.New("answered " + body)
			}
			return nil
		}
	}
	poll.Until(t, 10*time.Second, "ClusterIP from the node itself", answers(node, cip, "pod-a"))
	poll.Until(t, 2*time.Second, "ClusterIP from an off-cluster client", answers(client, cip, "pod-a"))
	poll.Until(t, 2*time.Second, "ClusterIP from the pod to itself (hairpin)", answers(pod, cip, "pod-a"))
	poll.Until(t, 2*time.Second, "NodePort from an off-cluster client", answers(client, nodeOuterSide+":30080", "pod-a"))

	// A service without endpoints rejects at once.
	if _, err := get(client, emptyIP+":80", 2*time.Second); !isRefused(err) {
		t.Errorf("service without endpoints: got %v, want connection refused", err)
	}

	// A second endpoint: both answer with (roughly) equal probability.
	webB := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "web-2", Labels: map[string]string{labelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To[int32](8081)}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{podIP}, NodeName: ptr.To("node-a"),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}
	if _, err := c.DiscoveryV1().EndpointSlices("default").Create(context.Background(), webB, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	poll.Until(t, 10*time.Second, "both endpoints answer", func() error {
		body, err := get(client, cip, time.Second)
		if err != nil {
			return err
		}
		seen[body]++
		if seen["pod-a"] < 5 || seen["pod-b"] < 5 {
			return errors.New("answers so far: " + strings.Join(keysOf(seen), ","))
		}
		return nil
	})

	// Removing an endpoint stops its traffic within a second.
	webA.Endpoints = nil
	webA.Annotations = map[string]string{LastChangeTriggerTimeAnnotation: time.Now().UTC().Format(time.RFC3339Nano)}
	if _, err := c.DiscoveryV1().EndpointSlices("default").Update(context.Background(), webA, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	removed := time.Now()
	poll.Until(t, time.Second, "removed endpoint gets no more traffic", func() error {
		for range 10 {
			body, err := get(client, cip, time.Second)
			if err != nil {
				return err
			}
			if body != "pod-b" {
				return errors.New("still answered by " + body)
			}
		}
		return nil
	})
	t.Logf("removed endpoint out of rotation after %v", time.Since(removed))
	poll.Until(t, 5*time.Second, "network programming latency observed", func() error {
		if histogramCount(t, p.Registry, "kubeproxy_network_programming_duration_seconds") < 1 {
			return errors.New("no observation")
		}
		return nil
	})

	// Restart: the old rules keep serving while the new proxier starts, and it replaces them
	// without a gap. Requests run all along.
	var failures, total atomic.Int32
	loopCtx, stopLoop := context.WithCancel(context.Background())
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		for loopCtx.Err() == nil {
			total.Add(1)
			if body, err := get(client, cip, time.Second); err != nil || body != "pod-b" {
				failures.Add(1)
			}
		}
	}()
	stop()
	p2, _ := startProxier(t, cfg)
	poll.Until(t, 10*time.Second, "restarted proxier synced", func() error {
		if histogramCount(t, p2.Registry, "kubeproxy_sync_full_proxy_rules_duration_seconds") < 1 {
			return errors.New("no full sync yet")
		}
		return nil
	})
	// Let requests run over the new rules too.
	after := total.Load()
	poll.Until(t, 10*time.Second, "requests over the new rules", func() error {
		if total.Load() < after+5 {
			return errors.New("too few requests yet")
		}
		return nil
	})
	stopLoop()
	<-loopDone
	if failures.Load() > 0 {
		t.Errorf("%d of %d requests failed across the proxy restart", failures.Load(), total.Load())
	}
	t.Logf("%d requests across the restart, %d failed", total.Load(), failures.Load())

	// Cleanup removes the table.
	if err := p2.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	tableLeft := func() bool {
		out, err := exec.Command("ip", "netns", "exec", node.Name, "nft", "list", "tables").CombinedOutput()
		if err != nil {
			t.Fatalf("nft list tables: %v: %s", err, out)
		}
		return strings.Contains(string(out), table)
	}
	if tableLeft() {
		t.Errorf("table %s left after Cleanup", table)
	}

	// CleanupOnExit: the table goes when the proxier stops.
	cfg.CleanupOnExit = true
	p3, stop3 := startProxier(t, cfg)
	poll.Until(t, 10*time.Second, "third proxier synced", func() error {
		if histogramCount(t, p3.Registry, "kubeproxy_sync_full_proxy_rules_duration_seconds") < 1 {
			return errors.New("no full sync yet")
		}
		return nil
	})
	if !tableLeft() {
		t.Fatalf("no table %s after a sync", table)
	}
	stop3()
	if tableLeft() {
		t.Errorf("table %s left after a proxier with CleanupOnExit stopped", table)
	}
}

func keysOf(m map[string]int) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+itoa(int64(v)))
	}
	return out
}

// histogramCount is the number of observations of histogram name in g.
func histogramCount(t *testing.T, g prometheus.Gatherer, name string) uint64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	return 0
}
