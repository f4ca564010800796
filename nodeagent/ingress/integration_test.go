package ingress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/test/poll"
)

// backend is an httptest server that answers its name (and the headers the proxy set).
func backend(t *testing.T, name string) (port int32) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s host=%s xfh=%s xfp=%s xff=%t", name, r.Host, r.Header.Get("X-Forwarded-Host"),
			r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-For") != "")
	}))
	t.Cleanup(srv.Close)
	return int32(srv.Listener.Addr().(*net.TCPAddr).Port)
}

// podIP is the endpoints' address: EndpointSlices may not hold loopback addresses, so the
// test's transport dials 127.0.0.1 instead (loopbackTransport).
const podIP = "192.0.2.10"

// loopbackTransport reaches the "pods" at podIP on 127.0.0.1, where the httptest backends are.
func loopbackTransport() http.RoundTripper {
	return &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if host == podIP {
			host = "127.0.0.1"
		}
		return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort(host, port))
	}}
}

// serviceTo creates a Service (port 80, "http") whose EndpointSlice points at podIP:port
// (no endpoint when port is 0).
func serviceTo(t *testing.T, c kubernetes.Interface, name string, port int32) {
	t.Helper()
	ctx := context.Background()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	if _, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name + "-1",
		Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(port)}}}
	if port != 0 {
		s.Endpoints = []discoveryv1.Endpoint{{Addresses: []string{podIP}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}}
	}
	if _, err := c.DiscoveryV1().EndpointSlices("default").Create(ctx, s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func rule(host string, paths ...networkingv1.HTTPIngressPath) networkingv1.IngressRule {
	return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}}}
}

func to(p string, typ networkingv1.PathType, svc string) networkingv1.HTTPIngressPath {
	return networkingv1.HTTPIngressPath{Path: p, PathType: &typ, Backend: svcBackend(svc)}
}

// client sends every request to addr, whatever the URL's host, trusting pool for TLS.
func client(addr string, pool *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{RootCAs: pool},
	}}
}

func get(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// expect polls until url answers code with a body that starts with prefix.
func expect(t *testing.T, c *http.Client, url string, code int, prefix string) {
	t.Helper()
	poll.Eventually(t, url, func() error {
		got, body, err := get(c, url)
		if err != nil {
			return err
		}
		if got != code || !strings.HasPrefix(body, prefix) {
			return fmt.Errorf("got %d %q, want %d %q...", got, body, code, prefix)
		}
		return nil
	})
}

func warningEvent(t *testing.T, c kubernetes.Interface, ingress, reason string) {
	t.Helper()
	poll.Eventually(t, "Warning "+reason+" on "+ingress, func() error {
		list, err := c.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.name", ingress).String()})
		if err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Reason == reason && e.Type == corev1.EventTypeWarning && e.Source.Component == ControllerName {
				if e.Count > 1 {
					return fmt.Errorf("event %s recorded %d times", reason, e.Count)
				}
				return nil
			}
		}
		return errors.New("no event yet")
	})
}

func TestControllerServesIngresses(t *testing.T) {
	s := apiservertest.Start(t)
	c := s.Client
	ctx := context.Background()
	if _, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	class := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "test-skiff"}, Spec: networkingv1.IngressClassSpec{Controller: helper.IngressController}}
	if _, err := c.NetworkingV1().IngressClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	other := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Spec: networkingv1.IngressClassSpec{Controller: "example.com/other"}}
	if _, err := c.NetworkingV1().IngressClasses().Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	serviceTo(t, c, "foo", backend(t, "foo"))
	serviceTo(t, c, "bar", backend(t, "bar"))
	serviceTo(t, c, "empty", 0)
	// The slow backend holds its requests until release is closed.
	entered, release := make(chan struct{}, 1), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		fmt.Fprint(w, "slow done")
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	serviceTo(t, c, "slow", int32(slow.Listener.Addr().(*net.TCPAddr).Port))

	// TLS Secrets for both hosts, and a client that trusts them.
	pool := x509.NewCertPool()
	for _, host := range []string{"foo.test", "bar.test"} {
		certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey(host, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		pool.AppendCertsFromPEM(certPEM)
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: host + "-tls"}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM}}
		if _, err := c.CoreV1().Secrets("default").Create(ctx, sec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	opaque := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "opaque"}, StringData: map[string]string{"x": "y"}}
	if _, err := c.CoreV1().Secrets("default").Create(ctx, opaque, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	site := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "site"}, Spec: networkingv1.IngressSpec{
		IngressClassName: ptr.To("test-skiff"),
		TLS: []networkingv1.IngressTLS{{Hosts: []string{"foo.test"}, SecretName: "foo.test-tls"},
			{Hosts: []string{"bar.test"}, SecretName: "bar.test-tls"}},
		Rules: []networkingv1.IngressRule{
			rule("foo.test", to("/", networkingv1.PathTypePrefix, "foo"), to("/empty", networkingv1.PathTypePrefix, "empty"),
				to("/slow", networkingv1.PathTypePrefix, "slow")),
			rule("bar.test", to("/", networkingv1.PathTypePrefix, "bar"), to("/only", networkingv1.PathTypeExact, "foo")),
		}}}
	if _, err := c.NetworkingV1().Ingresses("default").Create(ctx, site, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Another controller's Ingress for the same host is not served.
	foreign := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "foreign"}, Spec: networkingv1.IngressSpec{
		IngressClassName: ptr.To("other"), Rules: []networkingv1.IngressRule{rule("foreign.test", to("/", networkingv1.PathTypePrefix, "foo"))}}}
	if _, err := c.NetworkingV1().Ingresses("default").Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	ctrl, err := New(Config{Client: c, NodeName: "n1", HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0",
		Transport: loopbackTransport()})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ctrl.Start(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
	ports := ctrl.Ports()
	httpC := client("127.0.0.1:"+strconv.Itoa(ports["http"]), nil)
	httpsC := client("127.0.0.1:"+strconv.Itoa(ports["https"]), pool)

	t.Run("http by host", func(t *testing.T) {
		expect(t, httpC, "http://foo.test/x", 200, "foo host=foo.test xfh=foo.test xfp=http xff=true")
		expect(t, httpC, "http://bar.test/", 200, "bar host=bar.test")
	})
	t.Run("https by SNI", func(t *testing.T) {
		// The client verifies each host's own certificate: SNI chose it.
		expect(t, httpsC, "https://foo.test/", 200, "foo host=foo.test xfh=foo.test xfp=https")
		expect(t, httpsC, "https://bar.test/", 200, "bar host=bar.test")
	})
	t.Run("exact and prefix", func(t *testing.T) {
		expect(t, httpC, "http://bar.test/only", 200, "foo")
		expect(t, httpC, "http://bar.test/only/more", 200, "bar")
		expect(t, httpC, "http://bar.test/onlyx", 200, "bar")
	})
	t.Run("no ready endpoint is 503", func(t *testing.T) {
		expect(t, httpC, "http://foo.test/empty/x", 503, "503")
	})
	t.Run("no rule is 404, another class's host too", func(t *testing.T) {
		expect(t, httpC, "http://nowhere.test/", 404, "404")
		expect(t, httpC, "http://foreign.test/", 404, "404")
	})
	t.Run("ports on the node", func(t *testing.T) {
		want := helper.FormatIngressPorts(ports)
		poll.Eventually(t, "node annotation", func() error {
			n, err := c.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if got := n.Annotations[helper.AnnIngressPorts]; got != want {
				return fmt.Errorf("annotation %q, want %q", got, want)
			}
			return nil
		})
	})
	t.Run("default backend, resource backend and bad secret", func(t *testing.T) {
		fallback := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "fallback"}, Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To("test-skiff"), DefaultBackend: ptr.To(svcBackend("bar")),
			TLS: []networkingv1.IngressTLS{{Hosts: []string{"bad.test"}, SecretName: "opaque"}},
			Rules: []networkingv1.IngressRule{rule("res.test", networkingv1.HTTPIngressPath{Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix),
				Backend: networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{APIGroup: ptr.To("k8s.example.com"), Kind: "Bucket", Name: "static"}}})}}}
		if _, err := c.NetworkingV1().Ingresses("default").Create(ctx, fallback, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		expect(t, httpC, "http://nowhere.test/", 200, "bar")
		expect(t, httpC, "http://res.test/", 503, "503 service unavailable: resource backend Bucket static")
		warningEvent(t, c, "fallback", ReasonUnsupportedBackend)
		warningEvent(t, c, "fallback", ReasonBadTLSSecret)
	})
	t.Run("a table change keeps the request in flight", func(t *testing.T) {
		result := make(chan string, 1)
		go func() {
			code, body, err := get(httpC, "http://foo.test/slow")
			result <- fmt.Sprintf("%d %s %v", code, body, err)
		}()
		select {
		case <-entered:
		case <-time.After(20 * time.Second):
			t.Fatal("the slow backend got no request")
		}
		before := ctrl.Table()
		// Take the slow path out: the table is swapped while the request waits.
		patch := []byte(`{"spec":{"rules":[{"host":"foo.test","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"foo","port":{"number":80}}}}]}}]}}`)
		if _, err := c.NetworkingV1().Ingresses("default").Patch(ctx, "site", "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "the new table routes /slow to foo", func() error {
			if b, ok := ctrl.Table().Route("foo.test", "/slow"); !ok || b.Service != "foo" {
				return errors.New("old table still in use")
			}
			return nil
		})
		if ctrl.Table() == before {
			t.Fatal("the table was not swapped")
		}
		close(release)
		if got := <-result; got != "200 slow done <nil>" {
			t.Errorf("in-flight request: %s", got)
		}
		expect(t, httpC, "http://foo.test/slow", 200, "foo")
	})
	t.Run("a secret rotation is served", func(t *testing.T) {
		certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("foo.test", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		sec, err := c.CoreV1().Secrets("default").Get(ctx, "foo.test-tls", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sec.Data = map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM}
		if _, err := c.CoreV1().Secrets("default").Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		newPool := x509.NewCertPool()
		newPool.AppendCertsFromPEM(certPEM)
		expect(t, client("127.0.0.1:"+strconv.Itoa(ports["https"]), newPool), "https://foo.test/", 200, "foo")
	})
}
