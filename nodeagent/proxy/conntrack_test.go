package proxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/knftables"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/nodeagent/nftrules"
	"github.com/skiff-dev/skiff/test/poll"
)

func flow(dst string, port uint16, replySrc string) ConntrackFlow {
	return ConntrackFlow{OrigDst: netip.MustParseAddr(dst), OrigDstPort: port, ReplySrc: netip.MustParseAddr(replySrc)}
}

func udp(s *corev1.Service) { s.Spec.Ports[0].Protocol = corev1.ProtocolUDP; s.Spec.Ports[0].Port = 53 }

func udpSlice(svc string, eps ...ep) *discoveryv1.EndpointSlice {
	s := testSlice(svc, 5353, eps...)
	s.Ports[0].Protocol = ptr.To(corev1.ProtocolUDP)
	return s
}

// TestStaleUDPEntries: which conntrack entries a sync clears, as upstream's
// conntrack.CleanStaleEntries: UDP flows to a service address or NodePort whose replies do
// not come from a serving endpoint, and every flow of a deleted UDP service.
func TestStaleUDPEntries(t *testing.T) {
	nodePort := func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort; s.Spec.Ports[0].NodePort = 30053 }
	dns := testService("dns", "10.96.0.10", udp, nodePort, func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"198.51.100.7"} })
	web := testService("web", "10.96.0.20") // TCP: never touched
	cur := udpStateOf(snapshotOf([]*corev1.Service{dns, web}, []*discoveryv1.EndpointSlice{
		udpSlice("dns", ep{ip: "10.244.1.5"}, ep{ip: "10.244.1.6", notReady: true}, ep{ip: "10.244.1.7", notReady: true, term: true, serving: true}),
		testSlice("web", 8080, ep{ip: "10.244.1.9"}),
	}))
	gone := testService("old", "10.96.0.30", udp)
	prev := udpStateOf(snapshotOf([]*corev1.Service{gone}, []*discoveryv1.EndpointSlice{udpSlice("old", ep{ip: "10.244.1.8"})}))
	check := cur.withGone(prev)
	for _, tc := range []struct {
		name  string
		flow  ConntrackFlow
		stale bool
	}{
		{"ClusterIP to a serving endpoint", flow("10.96.0.10", 53, "10.244.1.5"), false},
		{"ClusterIP to a serving terminating endpoint", flow("10.96.0.10", 53, "10.244.1.7"), false},
		{"ClusterIP to an endpoint that is gone", flow("10.96.0.10", 53, "10.244.1.4"), true},
		{"ClusterIP to a not-serving endpoint", flow("10.96.0.10", 53, "10.244.1.6"), true},
		{"ClusterIP flow never translated (sent before endpoints existed)", flow("10.96.0.10", 53, "10.96.0.10"), true},
		{"externalIP to an endpoint that is gone", flow("198.51.100.7", 53, "10.244.1.4"), true},
		{"another port of the ClusterIP", flow("10.96.0.10", 54, "10.244.1.4"), false},
		{"NodePort to an endpoint that is gone", flow("192.0.2.1", 30053, "10.244.1.4"), true},
		{"NodePort to a serving endpoint", flow("192.0.2.1", 30053, "10.244.1.5"), false},
		{"untranslated flow to the NodePort's number elsewhere", flow("203.0.113.9", 30053, "203.0.113.9"), false},
		{"TCP service address", flow("10.96.0.20", 80, "10.244.1.1"), false},
		{"deleted UDP service", flow("10.96.0.30", 53, "10.244.1.8"), true},
		{"unrelated flow", flow("8.8.8.8", 53, "8.8.8.8"), false},
	} {
		if got := check.stale(tc.flow); got != tc.stale {
			t.Errorf("%s: stale = %v, want %v", tc.name, got, tc.stale)
		}
	}
	if !cur.equal(udpStateOf(snapshotOf([]*corev1.Service{dns, web}, []*discoveryv1.EndpointSlice{
		udpSlice("dns", ep{ip: "10.244.1.7", notReady: true, term: true, serving: true}, ep{ip: "10.244.1.5"}),
	}))) {
		t.Errorf("the same serving endpoints make a different state")
	}
	if cur.equal(prev) || !udpStateOf(nil).empty() {
		t.Errorf("equal/empty are wrong")
	}
}

// fakeConntrack is a conntrack table of flows.
type fakeConntrack struct {
	mu    sync.Mutex
	flows []ConntrackFlow
	calls int
}

func (f *fakeConntrack) DeleteUDP(_ context.Context, stale func(ConntrackFlow) bool) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	var keep []ConntrackFlow
	for _, fl := range f.flows {
		if !stale(fl) {
			keep = append(keep, fl)
		}
	}
	n := len(f.flows) - len(keep)
	f.flows = keep
	return n, nil
}

func (f *fakeConntrack) has(fl ConntrackFlow) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.flows {
		if x == fl {
			return true
		}
	}
	return false
}

// TestProxierClearsStaleUDP: the proxier clears the entries of a removed UDP endpoint after
// the sync that removes it, and those of a deleted UDP service; others stay.
func TestProxierClearsStaleUDP(t *testing.T) {
	c := apiservertest.Start(t).Client
	ctx := context.Background()
	createService(t, c, "dns", "10.96.200.53", udp)
	slice := udpSlice("dns", ep{ip: "10.244.1.5"}, ep{ip: "10.244.1.6"})
	slice, err := c.DiscoveryV1().EndpointSlices("default").Create(ctx, slice, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := flow("10.96.200.53", 53, "10.244.1.5"), flow("10.96.200.53", 53, "10.244.1.6")
	other := flow("8.8.8.8", 53, "8.8.8.8")
	ct := &fakeConntrack{flows: []ConntrackFlow{a, b, other}}
	startProxier(t, Config{NodeName: testNode, Client: c, NFTables: knftables.NewFake(knftables.IPv4Family, "t"),
		Conntrack: ct, MinSyncInterval: 10 * time.Millisecond})
	poll.Until(t, 10*time.Second, "first sync cleans", func() error {
		ct.mu.Lock()
		defer ct.mu.Unlock()
		if ct.calls == 0 {
			return errors.New("no clean yet")
		}
		return nil
	})
	if !ct.has(a) || !ct.has(b) || !ct.has(other) {
		t.Fatalf("live flows cleared: %v", ct.flows)
	}

	slice.Endpoints = slice.Endpoints[1:] // 10.244.1.5 goes
	if _, err := c.DiscoveryV1().EndpointSlices("default").Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "flow to the removed endpoint cleared", func() error {
		if ct.has(a) {
			return errors.New("still there")
		}
		return nil
	})
	if !ct.has(b) || !ct.has(other) {
		t.Fatalf("live flows cleared: %v", ct.flows)
	}

	if err := c.CoreV1().Services("default").Delete(ctx, "dns", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "flows of the deleted service cleared", func() error {
		if ct.has(b) {
			return errors.New("still there")
		}
		return nil
	})
	if !ct.has(other) {
		t.Fatalf("an unrelated flow was cleared")
	}
}

// udpServeIn answers every datagram to addr in ns with body until the test ends.
func udpServeIn(t *testing.T, ns *netnsEnv, addr, body string) {
	t.Helper()
	var conn net.PacketConn
	var lerr error
	if err := inNetns(ns, func() { conn, lerr = net.ListenPacket("udp4", addr) }); err != nil {
		t.Fatal(err)
	}
	if lerr != nil {
		t.Fatalf("listen udp %s in %s: %v", addr, ns.Name, lerr)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		for {
			_, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = conn.WriteTo([]byte(body), from)
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
}

// TestStaleUDPConntrackReal: with real nftables and conntrack in a network namespace, a UDP
// client that keeps one source port (so one conntrack entry) moves to the new endpoint soon
// after its endpoint is replaced, and gets no answer once the service is deleted.
func TestStaleUDPConntrackReal(t *testing.T) {
	requireNetns(t)
	const (
		podA  = "192.0.2.2"
		podB  = "192.0.2.3"
		dnsIP = "10.96.200.53"
	)
	node := newNetns(t, "skp-node")
	pod := newNetns(t, "skp-pod")
	client := newNetns(t, "skp-cli")
	veth(t, node, "vpod", nodePodSide+"/24", pod, "eth0", podA+"/24")
	run(t, "ip", "-n", pod.Name, "addr", "add", podB+"/24", "dev", "eth0")
	veth(t, node, "vcli", nodeOuterSide+"/24", client, "eth0", clientIP+"/24")
	run(t, "ip", "-n", pod.Name, "route", "add", "default", "via", nodePodSide)
	run(t, "ip", "-n", client.Name, "route", "add", "default", "via", nodeOuterSide)
	run(t, "ip", "netns", "exec", node.Name, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	udpServeIn(t, pod, podA+":5353", "pod-a")
	udpServeIn(t, pod, podB+":5353", "pod-b")

	c := apiservertest.Start(t).Client
	ctx := context.Background()
	const table = "skiff-proxy-cttest"
	nft := nftIn(t, node, table)
	t.Cleanup(func() { _ = nftrules.DeleteTable(context.Background(), nft) })
	startProxier(t, Config{NodeName: testNode, Client: c, PodCIDRs: []string{"192.0.2.0/24"}, TableName: table,
		NFTables: nft, Conntrack: NewNetlinkConntrack(node.Path)})
	createService(t, c, "dns", dnsIP, udp)
	slice, err := c.DiscoveryV1().EndpointSlices("default").Create(ctx, udpSlice("dns", ep{ip: podA}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// One client socket, one source port, for the whole test.
	var conn net.PacketConn
	var lerr error
	if err := inNetns(client, func() { conn, lerr = net.ListenPacket("udp4", clientIP+":40053") }); err != nil {
		t.Fatal(err)
	}
	if lerr != nil {
		t.Fatal(lerr)
	}
	defer conn.Close()
	svc := &net.UDPAddr{IP: net.ParseIP(dnsIP), Port: 53}
	ask := func() (string, error) {
		if _, err := conn.WriteTo([]byte("q"), svc); err != nil {
			return "", err
		}
		_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 64)
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	answeredBy := func(want string) func() error {
		return func() error {
			got, err := ask()
			if err != nil {
				return err
			}
			if got != want {
				return errors.New("answered by " + got)
			}
			return nil
		}
	}
	poll.Until(t, 10*time.Second, "UDP service answers", answeredBy("pod-a"))

	slice.Endpoints = []discoveryv1.Endpoint{{Addresses: []string{podB}, NodeName: ptr.To(testNode),
		Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}}
	if _, err := c.DiscoveryV1().EndpointSlices("default").Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	replaced := time.Now()
	poll.Until(t, 5*time.Second, "the same client socket reaches the new endpoint", answeredBy("pod-b"))
	t.Logf("client moved to the new endpoint %v after the change", time.Since(replaced))

	if err := c.CoreV1().Services("default").Delete(ctx, "dns", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 5*time.Second, "no answer once the service is deleted", func() error {
		if got, err := ask(); err == nil {
			return errors.New("still answered by " + got)
		}
		return nil
	})
}
