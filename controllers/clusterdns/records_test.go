package clusterdns

import (
	"sort"
	"strings"
	"testing"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// mapSource is a fixed Source for the resolver's table tests.
type mapSource struct {
	svcs   map[string]*corev1.Service
	slices map[string][]*discoveryv1.EndpointSlice
}

func (m mapSource) Service(ns, name string) *corev1.Service { return m.svcs[ns+"/"+name] }
func (m mapSource) Slices(ns, name string) []*discoveryv1.EndpointSlice {
	return m.slices[ns+"/"+name]
}

func (m mapSource) ServicesByIP(ip string) []*corev1.Service {
	var out []*corev1.Service
	for _, svc := range m.svcs {
		for _, c := range svc.Spec.ClusterIPs {
			if c == ip {
				out = append(out, svc)
			}
		}
	}
	return out
}

func (m mapSource) SlicesByAddress(ip string) []*discoveryv1.EndpointSlice {
	var out []*discoveryv1.EndpointSlice
	for _, ss := range m.slices {
		for _, sl := range ss {
			for _, ep := range sl.Endpoints {
				for _, a := range ep.Addresses {
					if a == ip {
						out = append(out, sl)
					}
				}
			}
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func slice(ready []bool, hostnames []string, ips ...string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv4,
		Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080)), Protocol: ptr(corev1.ProtocolTCP)}}}
	for i, ip := range ips {
		ep := discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(ready[i])}}
		if hostnames != nil && hostnames[i] != "" {
			ep.Hostname = ptr(hostnames[i])
		}
		s.Endpoints = append(s.Endpoints, ep)
	}
	return s
}

func testSource() mapSource {
	web := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.50", ClusterIPs: []string{"10.96.0.50"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}, {Port: 81, Protocol: corev1.ProtocolTCP}}}}
	db := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "data"},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}}}
	ext := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext", Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.org"}}
	return mapSource{
		svcs: map[string]*corev1.Service{"default/web": web, "data/db": db, "default/ext": ext},
		slices: map[string][]*discoveryv1.EndpointSlice{
			"data/db": {func() *discoveryv1.EndpointSlice {
				s := slice([]bool{true, true, false}, []string{"db-0", "", "db-2"}, "10.244.1.5", "10.244.1.6", "10.244.1.7")
				s.Namespace, s.Labels = "data", map[string]string{discoveryv1.LabelServiceName: "db"}
				return s
			}()},
		},
	}
}

func render(rrs []dns.RR) string {
	var out []string
	for _, rr := range rrs {
		s := strings.Join(strings.Fields(rr.String()), " ")
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, " | ")
}

func TestResolve(t *testing.T) {
	r := newResolver("cluster.local", testSource())
	cases := []struct {
		name        string
		qname       string
		qtype       uint16
		rcode       int
		answer      string
		extraSubstr string
	}{
		{"service A", "web.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, "web.default.svc.cluster.local. 5 IN A 10.96.0.50", ""},
		{"case-insensitive", "WEB.Default.svc.Cluster.Local.", dns.TypeA, dns.RcodeSuccess, "WEB.Default.svc.Cluster.Local. 5 IN A 10.96.0.50", ""},
		{"service AAAA: no data", "web.default.svc.cluster.local.", dns.TypeAAAA, dns.RcodeSuccess, "", ""},
		{"unknown service", "nope.default.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, "", ""},
		{"wrong namespace", "web.data.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, "", ""},
		{"search-path miss", "web.default.svc.cluster.local.default.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, "", ""},
		{"headless: ready pod IPs", "db.data.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess,
			"db.data.svc.cluster.local. 5 IN A 10.244.1.5 | db.data.svc.cluster.local. 5 IN A 10.244.1.6", ""},
		{"headless pod hostname", "db-0.db.data.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, "db-0.db.data.svc.cluster.local. 5 IN A 10.244.1.5", ""},
		{"headless pod dashed IP", "10-244-1-6.db.data.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, "10-244-1-6.db.data.svc.cluster.local. 5 IN A 10.244.1.6", ""},
		{"not-ready pod hostname", "db-2.db.data.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, "", ""},
		{"SRV of a named port", "_http._tcp.web.default.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess,
			"_http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 100 80 web.default.svc.cluster.local.", "web.default.svc.cluster.local.\t5\tIN\tA\t10.96.0.50"},
		{"SRV wrong protocol", "_http._udp.web.default.svc.cluster.local.", dns.TypeSRV, dns.RcodeNameError, "", ""},
		{"SRV unknown port", "_grpc._tcp.web.default.svc.cluster.local.", dns.TypeSRV, dns.RcodeNameError, "", ""},
		{"SRV headless", "_http._tcp.db.data.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess,
			"_http._tcp.db.data.svc.cluster.local. 5 IN SRV 0 50 8080 10-244-1-6.db.data.svc.cluster.local. | _http._tcp.db.data.svc.cluster.local. 5 IN SRV 0 50 8080 db-0.db.data.svc.cluster.local.", "db-0.db.data.svc.cluster.local.\t5\tIN\tA\t10.244.1.5"},
		{"ExternalName CNAME", "ext.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, "ext.default.svc.cluster.local. 5 IN CNAME example.org.", ""},
		{"pod A", "10-244-3-4.default.pod.cluster.local.", dns.TypeA, dns.RcodeSuccess, "10-244-3-4.default.pod.cluster.local. 5 IN A 10.244.3.4", ""},
		{"pod A, not an IP", "web.default.pod.cluster.local.", dns.TypeA, dns.RcodeNameError, "", ""},
		{"namespace name exists", "default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, "", ""},
		{"other names in the zone", "foo.cluster.local.", dns.TypeA, dns.RcodeNameError, "", ""},
		{"zone SOA", "cluster.local.", dns.TypeSOA, dns.RcodeSuccess, "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !r.inZone(tc.qname) {
				t.Fatalf("%s not in zone", tc.qname)
			}
			a := r.resolve(dns.Question{Name: tc.qname, Qtype: tc.qtype, Qclass: dns.ClassINET})
			if a.rcode != tc.rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[a.rcode], dns.RcodeToString[tc.rcode])
			}
			if got := render(a.answer); got != tc.answer {
				t.Errorf("answer\n got %q\nwant %q", got, tc.answer)
			}
			if tc.extraSubstr != "" {
				var extras []string
				for _, rr := range a.extra {
					extras = append(extras, rr.String())
				}
				if !strings.Contains(strings.Join(extras, "\n"), tc.extraSubstr) {
					t.Errorf("extra %q lacks %q", extras, tc.extraSubstr)
				}
			}
		})
	}
	if r.inZone("example.org.") || r.inZone("notcluster.local.") {
		t.Errorf("names outside the cluster domain counted in it")
	}
}

func TestServiceIPFor(t *testing.T) {
	for cidr, want := range map[string]string{"10.96.0.0/12": "10.96.0.10", "10.0.0.0/24": "10.0.0.10", "172.20.0.0/16": "172.20.0.10"} {
		if got, err := ServiceIPFor(cidr); err != nil || got != want {
			t.Errorf("ServiceIPFor(%s) = %s, %v; want %s", cidr, got, err, want)
		}
	}
	for _, bad := range []string{"", "10.0.0.0/30", "fd00::/64", "nonsense"} {
		if _, err := ServiceIPFor(bad); err == nil {
			t.Errorf("ServiceIPFor(%q): no error", bad)
		}
	}
	if got := SliceName("Node_1.example"); got != "kube-dns-node-1-example" {
		t.Errorf("SliceName = %s", got)
	}
}

func TestReverse(t *testing.T) {
	r := newResolver("cluster.local", testSource())
	cases := []struct {
		qname  string
		ok     bool
		answer string
	}{
		{"50.0.96.10.in-addr.arpa.", true, "50.0.96.10.in-addr.arpa. 5 IN PTR web.default.svc.cluster.local."},
		{"5.1.244.10.in-addr.arpa.", true, "5.1.244.10.in-addr.arpa. 5 IN PTR db-0.db.data.svc.cluster.local."},
		{"6.1.244.10.in-addr.arpa.", true, "6.1.244.10.in-addr.arpa. 5 IN PTR 10-244-1-6.db.data.svc.cluster.local."},
		{"9.9.9.9.in-addr.arpa.", false, ""},
		{"1.168.192.in-addr.arpa.", false, ""},
		{"example.org.", false, ""},
	}
	for _, tc := range cases {
		a, ok := r.reverse(dns.Question{Name: tc.qname, Qtype: dns.TypePTR, Qclass: dns.ClassINET})
		if ok != tc.ok || render(a.answer) != tc.answer {
			t.Errorf("%s: ok %v answer %q, want %v %q", tc.qname, ok, render(a.answer), tc.ok, tc.answer)
		}
	}
}
