package ingress

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type path struct {
	path, typ, svc string
}

func ing(name string, age int, rules map[string][]path) *networkingv1.Ingress {
	i := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name,
		CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(age) * time.Minute))}}
	for host, paths := range rules {
		r := networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{}}}
		for _, p := range paths {
			pt := networkingv1.PathType(p.typ)
			r.HTTP.Paths = append(r.HTTP.Paths, networkingv1.HTTPIngressPath{Path: p.path, PathType: &pt, Backend: svcBackend(p.svc)})
		}
		i.Spec.Rules = append(i.Spec.Rules, r)
	}
	return i
}

func svcBackend(name string) networkingv1.IngressBackend {
	return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: 80}}}
}

func withDefault(i *networkingv1.Ingress, svc string) *networkingv1.Ingress {
	b := svcBackend(svc)
	i.Spec.DefaultBackend = &b
	return i
}

const (
	exact  = "Exact"
	prefix = "Prefix"
	impl   = "ImplementationSpecific"
)

func TestRoute(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ingresses  []*networkingv1.Ingress
		host, path string
		want       string // service, "" for 404
	}{
		{"exact host, prefix /", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"foo.example.com": {{"/", prefix, "foo"}}})}, "foo.example.com", "/x", "foo"},
		{"host with port and case", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"foo.example.com": {{"/", prefix, "foo"}}})}, "FOO.example.com:8080", "/", "foo"},
		{"other host: 404", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"foo.example.com": {{"/", prefix, "foo"}}})}, "bar.example.com", "/", ""},
		{"wildcard matches one label", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"*.example.com": {{"/", prefix, "wild"}}})}, "a.example.com", "/", "wild"},
		{"wildcard not two labels", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"*.example.com": {{"/", prefix, "wild"}}})}, "a.b.example.com", "/", ""},
		{"wildcard not the bare domain", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"*.example.com": {{"/", prefix, "wild"}}})}, "example.com", "/", ""},
		{"exact host before wildcard", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"*.example.com": {{"/", prefix, "wild"}}, "foo.example.com": {{"/", prefix, "foo"}}})}, "foo.example.com", "/", "foo"},
		{"no host matches any host", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"": {{"/", prefix, "any"}}})}, "whatever", "/a", "any"},
		{"host rule without matching path falls to host-less rules", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"foo": {{"/api", prefix, "api"}}, "": {{"/", prefix, "any"}}})}, "foo", "/web", "any"},
		{"prefix element-wise: /foo matches /foo", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"": {{"/foo", prefix, "foo"}}})}, "h", "/foo", "foo"},
		{"prefix element-wise: /foo matches /foo/bar", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"": {{"/foo", prefix, "foo"}}})}, "h", "/foo/bar", "foo"},
		{"prefix element-wise: /foo not /foobar", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"": {{"/foo", prefix, "foo"}}})}, "h", "/foobar", ""},
		{"prefix trailing slash of the rule ignored", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"": {{"/foo/", prefix, "foo"}}})}, "h", "/foo", "foo"},
		{"prefix trailing slash of the request ignored", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"": {{"/foo", prefix, "foo"}}})}, "h", "/foo/", "foo"},
		{"prefix is case-sensitive", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"": {{"/foo", prefix, "foo"}}})}, "h", "/FOO", ""},
		{"exact matches only itself", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"": {{"/foo", exact, "foo"}}})}, "h", "/foo", "foo"},
		{"exact does not match a subpath", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"": {{"/foo", exact, "foo"}}})}, "h", "/foo/bar", ""},
		{"exact does not match a trailing slash", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"": {{"/foo", exact, "foo"}}})}, "h", "/foo/", ""},
		{"implementation specific is prefix", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"": {{"/foo", impl, "foo"}}})}, "h", "/foo/x", "foo"},
		{"longest prefix wins", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"": {{"/", prefix, "root"}, {"/api/v1", prefix, "v1"}, {"/api", prefix, "api"}}})}, "h", "/api/v1/x", "v1"},
		{"longest prefix wins, shorter", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"": {{"/", prefix, "root"}, {"/api/v1", prefix, "v1"}, {"/api", prefix, "api"}}})}, "h", "/api/v2", "api"},
		{"exact beats prefix of the same path", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"": {{"/foo", prefix, "p"}, {"/foo", exact, "e"}}})}, "h", "/foo", "e"},
		{"prefix still serves subpaths beside exact", []*networkingv1.Ingress{ing("a", 0, map[string][]path{"": {{"/foo", prefix, "p"}, {"/foo", exact, "e"}}})}, "h", "/foo/x", "p"},
		{"conflict: the oldest ingress wins", []*networkingv1.Ingress{
			ing("new", 5, map[string][]path{"h": {{"/", prefix, "new"}}}), ing("old", 1, map[string][]path{"h": {{"/", prefix, "old"}}})}, "h", "/", "old"},
		{"conflict, same age: namespace/name order", []*networkingv1.Ingress{
			ing("b", 1, map[string][]path{"h": {{"/", prefix, "b"}}}), ing("a", 1, map[string][]path{"h": {{"/", prefix, "a"}}})}, "h", "/", "a"},
		{"paths of several ingresses merge", []*networkingv1.Ingress{
			ing("a", 1, map[string][]path{"h": {{"/a", prefix, "a"}}}), ing("b", 2, map[string][]path{"h": {{"/b", prefix, "b"}}})}, "h", "/b", "b"},
		{"default backend when nothing matches", []*networkingv1.Ingress{withDefault(ing("a", 0, map[string][]path{"h": {{"/a", prefix, "a"}}}), "def")}, "other", "/", "def"},
		{"default backend of the oldest ingress", []*networkingv1.Ingress{
			withDefault(ing("new", 5, nil), "newdef"), withDefault(ing("old", 1, nil), "olddef")}, "x", "/", "olddef"},
		{"rules before default backend", []*networkingv1.Ingress{withDefault(ing("a", 0, map[string][]path{"h": {{"/a", prefix, "a"}}}), "def")}, "h", "/a", "a"},
		{"no ingress: 404", nil, "h", "/", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := BuildTable(Input{Ingresses: tc.ingresses}).Route(tc.host, tc.path)
			got := ""
			if ok {
				got = b.Service
			}
			if got != tc.want {
				t.Errorf("Route(%q, %q) = %q, want %q", tc.host, tc.path, got, tc.want)
			}
		})
	}
}

func service(name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Spec: corev1.ServiceSpec{Ports: ports}}
}

func slice(svc, name string, portName string, port int32, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4, Endpoints: eps,
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To(portName), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP)}}}
}

func endpoint(ip string, ready *bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
}

func TestBackendEndpoints(t *testing.T) {
	byNumber := func(svc string, n int32) networkingv1.IngressBackend {
		return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Number: n}}}
	}
	byName := func(svc, port string) networkingv1.IngressBackend {
		return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Name: port}}}
	}
	web := service("web", corev1.ServicePort{Name: "http", Port: 80}, corev1.ServicePort{Name: "admin", Port: 9000})
	slices := []*discoveryv1.EndpointSlice{
		slice("web", "web-1", "http", 8080, endpoint("10.0.0.1", ptr.To(true)), endpoint("10.0.0.2", nil), endpoint("10.0.0.3", ptr.To(false))),
		slice("web", "web-2", "admin", 9090, endpoint("10.0.0.1", ptr.To(true))),
		slice("other", "other-1", "http", 1, endpoint("10.9.9.9", nil)),
	}
	for _, tc := range []struct {
		name    string
		backend networkingv1.IngressBackend
		want    []string
	}{
		{"port by number, ready and unknown-ready endpoints", byNumber("web", 80), []string{"10.0.0.1:8080", "10.0.0.2:8080"}},
		{"port by name", byName("web", "admin"), []string{"10.0.0.1:9090"}},
		{"unknown port", byNumber("web", 81), nil},
		{"unknown service", byNumber("gone", 80), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := ing("a", 0, nil)
			i.Spec.DefaultBackend = &tc.backend
			b, ok := BuildTable(Input{Ingresses: []*networkingv1.Ingress{i}, Services: []*corev1.Service{web}, Slices: slices}).Route("h", "/")
			if !ok {
				t.Fatal("no route")
			}
			if len(b.Endpoints) != len(tc.want) {
				t.Fatalf("endpoints %v, want %v", b.Endpoints, tc.want)
			}
			for i := range tc.want {
				if b.Endpoints[i] != tc.want[i] {
					t.Fatalf("endpoints %v, want %v", b.Endpoints, tc.want)
				}
			}
			if _, ok := b.Pick(); ok != (len(tc.want) > 0) {
				t.Errorf("Pick ok %v with endpoints %v", ok, b.Endpoints)
			}
		})
	}
	b := &Backend{Endpoints: []string{"a", "b"}}
	if x, _ := b.Pick(); x != "a" {
		t.Errorf("first pick %q", x)
	}
	if x, _ := b.Pick(); x != "b" {
		t.Errorf("second pick %q", x)
	}
	if x, _ := b.Pick(); x != "a" {
		t.Errorf("third pick %q (round-robin)", x)
	}
}

func TestResourceBackendIsAProblem(t *testing.T) {
	i := ing("a", 0, nil)
	i.Spec.DefaultBackend = &networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{APIGroup: ptr.To("k8s.example.com"), Kind: "Bucket", Name: "static"}}
	tb := BuildTable(Input{Ingresses: []*networkingv1.Ingress{i}})
	b, ok := tb.Route("h", "/")
	if !ok || b.Unsupported == "" {
		t.Fatalf("route %v %+v, want an unsupported backend", ok, b)
	}
	if _, ok := b.Pick(); ok {
		t.Error("an unsupported backend picked an endpoint")
	}
	if p := tb.Problems(); len(p) != 1 || p[0].Reason != ReasonUnsupportedBackend || p[0].Ingress.Name != "a" {
		t.Errorf("problems %+v", p)
	}
}

func tlsSecret(t *testing.T, name string, hosts ...string) *corev1.Secret {
	t.Helper()
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey(hosts[0], nil, hosts)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM}}
}

func withTLS(i *networkingv1.Ingress, secret string, hosts ...string) *networkingv1.Ingress {
	i.Spec.TLS = append(i.Spec.TLS, networkingv1.IngressTLS{Hosts: hosts, SecretName: secret})
	return i
}

func dnsName(t *testing.T, c *tls.Certificate) string {
	t.Helper()
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return x.DNSNames[0]
}

func TestCertificatesBySNI(t *testing.T) {
	foo, wild, other := tlsSecret(t, "foo", "foo.example.com"), tlsSecret(t, "wild", "*.example.com"), tlsSecret(t, "other", "other.test")
	bad := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bad"}, Type: corev1.SecretTypeOpaque, Data: foo.Data}
	garbage := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "garbage"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: []byte("x"), corev1.TLSPrivateKeyKey: []byte("y")}}
	secrets := []*corev1.Secret{foo, wild, other, bad, garbage}
	for _, tc := range []struct {
		name       string
		ingresses  []*networkingv1.Ingress
		serverName string
		want       string // the first DNS name, "" for no certificate
		problems   int
	}{
		{"exact host", []*networkingv1.Ingress{withTLS(withTLS(ing("a", 0, nil), "wild", "*.example.com"), "foo", "foo.example.com")}, "foo.example.com", "foo.example.com", 0},
		{"exact host, any case", []*networkingv1.Ingress{withTLS(ing("a", 0, nil), "foo", "foo.example.com")}, "FOO.Example.com", "foo.example.com", 0},
		{"wildcard host", []*networkingv1.Ingress{withTLS(withTLS(ing("a", 0, nil), "wild", "*.example.com"), "foo", "foo.example.com")}, "bar.example.com", "*.example.com", 0},
		{"no match: the entry without hosts", []*networkingv1.Ingress{withTLS(withTLS(ing("a", 0, nil), "foo", "foo.example.com"), "other")}, "nope.test", "other.test", 0},
		{"no match: the first certificate", []*networkingv1.Ingress{withTLS(ing("a", 0, nil), "foo", "foo.example.com")}, "nope.test", "foo.example.com", 0},
		{"no SNI: the first certificate", []*networkingv1.Ingress{withTLS(ing("a", 0, nil), "foo", "foo.example.com")}, "", "foo.example.com", 0},
		{"oldest ingress wins a host", []*networkingv1.Ingress{withTLS(ing("new", 2, nil), "other", "foo.example.com"), withTLS(ing("old", 1, nil), "foo", "foo.example.com")}, "foo.example.com", "foo.example.com", 0},
		{"a missing secret is skipped", []*networkingv1.Ingress{withTLS(withTLS(ing("a", 0, nil), "missing", "foo.example.com"), "wild", "*.example.com")}, "foo.example.com", "*.example.com", 0},
		{"a secret not of type tls is a problem", []*networkingv1.Ingress{withTLS(ing("a", 0, nil), "bad", "foo.example.com")}, "foo.example.com", "", 1},
		{"an unparsable secret is a problem", []*networkingv1.Ingress{withTLS(ing("a", 0, nil), "garbage", "foo.example.com")}, "foo.example.com", "", 1},
		{"no tls: no certificate", []*networkingv1.Ingress{ing("a", 0, nil)}, "foo.example.com", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := BuildTable(Input{Ingresses: tc.ingresses, Secrets: secrets})
			cert, ok := tb.Certificates().For(tc.serverName)
			got := ""
			if ok {
				got = dnsName(t, cert)
			}
			if got != tc.want {
				t.Errorf("For(%q) = %q, want %q", tc.serverName, got, tc.want)
			}
			if len(tb.Problems()) != tc.problems {
				t.Errorf("problems %+v, want %d", tb.Problems(), tc.problems)
			}
			for _, p := range tb.Problems() {
				if p.Reason != ReasonBadTLSSecret {
					t.Errorf("problem %+v", p)
				}
			}
		})
	}
}
