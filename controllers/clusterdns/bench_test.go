package clusterdns_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/controllers/clusterdns"
	"github.com/skiff-dev/skiff/test/poll"
)

// BenchmarkClusterDNS measures UDP queries answered by the cluster DNS server (from its informer
// cache, 500 services) side by side with the floor: a miekg/dns server that answers every
// query with one fixed A record, over the same loopback and client.
func BenchmarkClusterDNS(b *testing.B) {
	api := apiservertest.Start(b)
	ctx := context.Background()
	const services = 500
	for i := 0; i < services; i++ {
		_, err := api.Client.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d", i)},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "x"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}, metav1.CreateOptions{})
		if err != nil {
			b.Fatal(err)
		}
	}
	s, err := clusterdns.New(clusterdns.Config{Client: api.Client, Address: "127.0.0.1", Upstreams: []string{}})
	if err != nil {
		b.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.Start(sctx)
	select {
	case <-s.Ready():
	case <-time.After(30 * time.Second):
		b.Fatal("DNS server not ready")
	}
	last := fmt.Sprintf("svc-%d.default.svc.cluster.local.", services-1)
	poll.Until(b, 10*time.Second, "services in the DNS cache", func() error {
		m := new(dns.Msg)
		m.SetQuestion(last, dns.TypeA)
		r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(m, s.Addr().String())
		if err == nil && len(r.Answer) != 1 {
			err = fmt.Errorf("answer %v", r.Answer)
		}
		return err
	})

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	floor := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(10, 96, 0, 1)}}
		w.WriteMsg(m)
	})}
	go floor.ActivateAndServe()
	defer floor.Shutdown()

	run := func(b *testing.B, addr string, names func(i int) string) {
		c := &dns.Client{Timeout: 2 * time.Second}
		conn, err := c.Dial(addr)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			m := new(dns.Msg)
			m.SetQuestion(names(i), dns.TypeA)
			r, _, err := c.ExchangeWithConn(m, conn)
			if err != nil || len(r.Answer) != 1 {
				b.Fatalf("query %s: %v %v", names(i), err, r)
			}
		}
	}
	name := func(i int) string { return fmt.Sprintf("svc-%d.default.svc.cluster.local.", i%services) }
	b.Run("cluster-dns", func(b *testing.B) { run(b, s.Addr().String(), name) })
	b.Run("floor-static-answer", func(b *testing.B) { run(b, pc.LocalAddr().String(), name) })
}
