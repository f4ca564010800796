package clusterdns_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"

	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/clusterdns"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/endpoints"
	"github.com/skiff-dev/skiff/test/poll"
)

// fakeUpstream answers every A query with 192.0.2.1 on a loopback UDP port.
func fakeUpstream(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP("192.0.2.1")}}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

func startDNS(t *testing.T, cfg clusterdns.Config) (*clusterdns.Server, func()) {
	t.Helper()
	s, err := clusterdns.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("DNS server stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("DNS server not ready after 30s")
	}
	var once sync.Once
	stop := func() { once.Do(func() { stopNow(t, cancel, done) }) }
	return s, stop
}

func stopNow(t *testing.T, cancel func(), done chan error) {
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("DNS server: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("DNS server did not stop")
	}
}

func query(t *testing.T, network, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 3 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	resp, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s query %s: %v", network, name, err)
	}
	return resp
}

func TestClusterDNSAgainstAPIServer(t *testing.T) {
	// The endpoints controller runs too: it must leave the slices it does not manage alone.
	api := controllertest.Start(t, func(mgr manager.Manager) error {
		return (&endpoints.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager(mgr)
	})
	ctx := context.Background()
	upstream := fakeUpstream(t)
	// EndpointSlices refuse loopback addresses: listen on this host's own address.
	hostIP, err := utilnet.ChooseHostInterface()
	if err != nil {
		t.Skipf("no host address to serve DNS on: %v", err)
	}
	s, stop := startDNS(t, clusterdns.Config{Client: api.Client, Address: hostIP.String(), Port: 0,
		Upstreams: []string{upstream}, ServiceIP: "10.96.0.10", MemberName: "member-a"})
	defer stop()
	addr := s.Addr().String()

	// kube-dns Service and this member's slice, as upstream's.
	var svc *corev1.Service
	poll.Until(t, 10*time.Second, "the kube-dns Service", func() error {
		var err error
		svc, err = api.Client.CoreV1().Services("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
		return err
	})
	if svc.Spec.ClusterIP != "10.96.0.10" || svc.Labels["k8s-app"] != "kube-dns" || svc.Labels["kubernetes.io/name"] != "CoreDNS" ||
		len(svc.Spec.Ports) != 2 || svc.Spec.Ports[0].Name != "dns" || svc.Spec.Ports[0].Protocol != corev1.ProtocolUDP ||
		svc.Spec.Ports[1].Name != "dns-tcp" || svc.Spec.Ports[1].Protocol != corev1.ProtocolTCP || svc.Spec.Selector != nil {
		t.Errorf("kube-dns Service: %+v %+v", svc.ObjectMeta.Labels, svc.Spec)
	}
	var es *discoveryv1.EndpointSlice
	poll.Until(t, 10*time.Second, "the member's EndpointSlice", func() error {
		var err error
		es, err = api.Client.DiscoveryV1().EndpointSlices("kube-system").Get(ctx, "kube-dns-member-a", metav1.GetOptions{})
		return err
	})
	if es.Labels[discoveryv1.LabelServiceName] != "kube-dns" || es.Endpoints[0].Addresses[0] != hostIP.String() ||
		int(*es.Ports[0].Port) != s.Addr().Port || int(*es.Ports[1].Port) != s.Addr().Port {
		t.Errorf("slice: %+v", es)
	}

	// A service created now resolves over UDP and TCP.
	_, err = api.Client.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	web, _ := api.Client.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
	poll.Until(t, 10*time.Second, "web.default.svc.cluster.local", poll.Check(func() (bool, string) {
		r := query(t, "udp", addr, "web.default.svc.cluster.local.", dns.TypeA)
		return r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1 && r.Answer[0].(*dns.A).A.String() == web.Spec.ClusterIP,
			fmt.Sprintf("rcode %s, answer %v", dns.RcodeToString[r.Rcode], r.Answer)
	}))
	if r := query(t, "tcp", addr, "_http._tcp.web.default.svc.cluster.local.", dns.TypeSRV); len(r.Answer) != 1 || r.Answer[0].(*dns.SRV).Port != 80 {
		t.Errorf("SRV over TCP: %v", r)
	}
	if r := query(t, "udp", addr, "missing.default.svc.cluster.local.", dns.TypeA); r.Rcode != dns.RcodeNameError || !r.Authoritative {
		t.Errorf("unknown service: rcode %s, authoritative %v", dns.RcodeToString[r.Rcode], r.Authoritative)
	}
	if rev, err := dns.ReverseAddr(web.Spec.ClusterIP); err != nil {
		t.Error(err)
	} else if r := query(t, "udp", addr, rev, dns.TypePTR); len(r.Answer) != 1 || r.Answer[0].(*dns.PTR).Ptr != "web.default.svc.cluster.local." {
		t.Errorf("PTR of web's ClusterIP: %v", r)
	}
	// Once the endpoints controller has written web's slice, the kube-dns slice is still ours.
	poll.Until(t, 10*time.Second, "web's EndpointSlice from the endpoints controller", func() error {
		l, err := api.Client.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=web"})
		if err == nil && len(l.Items) == 0 {
			err = errors.New("no slice yet")
		}
		return err
	})
	if got, err := api.Client.DiscoveryV1().EndpointSlices("kube-system").Get(ctx, "kube-dns-member-a", metav1.GetOptions{}); err != nil ||
		got.Labels[discoveryv1.LabelManagedBy] != clusterdns.ManagedBy || len(got.Endpoints) != 1 || got.Endpoints[0].Addresses[0] != hostIP.String() {
		t.Errorf("kube-dns slice after the endpoints controller ran: %v %+v", err, got)
	}
	// Other names go to the host's nameservers.
	if r := query(t, "udp", addr, "example.org.", dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
		t.Errorf("forwarded: %v", r)
	}

	// Stopping removes the member's slice.
	stop()
	if _, err := api.Client.DiscoveryV1().EndpointSlices("kube-system").Get(ctx, "kube-dns-member-a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("member slice after stop: %v, want NotFound", err)
	}

	// No nameservers: SERVFAIL for other names; no kube-dns when ServiceIP is empty.
	s2, stop2 := startDNS(t, clusterdns.Config{Client: api.Client, Address: "127.0.0.1", Upstreams: []string{}})
	defer stop2()
	if r := query(t, "udp", s2.Addr().String(), "example.org.", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("no upstream: rcode %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
}
