package service_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
)

// services/proxy reaches a ready endpoint of the named port whose pod has the endpoint's
// address, by port name or number, over HTTP or HTTPS (the pod's certificate unchecked), with
// upstream's rewriting of links in HTML answers; a port the service lacks, a service without
// endpoints and an endpoint that is no pod's address answer 503.
func TestServiceProxy(t *testing.T) {
	ip := apiservertest.NonLoopbackIP(t)
	serve := func(tls bool, body string) string {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, body, r.URL.Path, r.URL.RawQuery)
		})
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatal(err)
		}
		srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: h}}
		if tls {
			srv.StartTLS()
		} else {
			srv.Start()
		}
		t.Cleanup(srv.Close)
		_, port, _ := net.SplitHostPort(l.Addr().String())
		return port
	}
	httpPort := serve(false, `<a href="/rewriteme">%s?%s</a>`)
	tlsPort := serve(true, "tls %s?%s")

	s := apiservertest.Start(t)
	ctx := context.Background()
	c := s.Client.CoreV1()
	if _, err := c.Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{
			{Name: "web", Port: 80, TargetPort: intstr.FromString("http")},
			{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8443)},
			{Name: "none", Port: 90}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod, err := c.Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase, pod.Status.PodIP, pod.Status.PodIPs = corev1.PodRunning, ip, []corev1.PodIP{{IP: ip}}
	if _, err := c.Pods("default").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	port := func(s string) *int32 {
		var n int32
		fmt.Sscan(s, &n)
		return &n
	}
	slice := func(name, addr string, ready bool, ports ...discoveryv1.EndpointPort) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready)},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0"}}},
			Ports: ports}
	}
	for _, es := range []*discoveryv1.EndpointSlice{
		slice("web-1", ip, true, discoveryv1.EndpointPort{Name: ptr.To("web"), Port: port(httpPort)}, discoveryv1.EndpointPort{Name: ptr.To("https"), Port: port(tlsPort)}),
		// Not ready, and an address that is no pod's: never chosen.
		slice("web-2", ip, false, discoveryv1.EndpointPort{Name: ptr.To("none"), Port: port(httpPort)}),
		slice("web-3", "10.99.0.1", true, discoveryv1.EndpointPort{Name: ptr.To("none"), Port: port(httpPort)}),
	} {
		if _, err := s.Client.DiscoveryV1().EndpointSlices("default").Create(ctx, es, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	get := func(name, path string) (string, error) {
		raw, err := c.RESTClient().Get().AbsPath("/api/v1/namespaces/default/services/"+name+"/proxy"+path).Param("q", "1").DoRaw(ctx)
		return string(raw), err
	}
	for _, tc := range []struct{ name, path, want string }{
		{"web:80", "/", `<a href="/api/v1/namespaces/default/services/web:80/proxy/rewriteme">/?q=1</a>`},
		{"web:web", "/a/b/", `<a href="/api/v1/namespaces/default/services/web:web/proxy/rewriteme">/a/b/?q=1</a>`},
		{"http:web:80", "/x", `<a href="/api/v1/namespaces/default/services/http:web:80/proxy/rewriteme">/x?q=1</a>`},
		{"https:web:443", "/s", "tls /s?q=1"},
		{"https:web:https", "/", "tls /?q=1"},
	} {
		if got, err := get(tc.name, tc.path); err != nil || got != tc.want {
			t.Errorf("services/%s/proxy%s: %q, %v; want %q", tc.name, tc.path, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		code int
		msg  string
	}{
		{"web:81", 503, `no service port 81 found for service \"web\"`},
		{"web:none", 503, `no endpoints available for service \"web\"`},
		{"missing:x", 503, `no endpoints available for service \"missing\"`},
		{"web:80:x:y", 400, `invalid service request \"web:80:x:y\"`},
	} {
		var code int
		raw, _ := c.RESTClient().Get().AbsPath("/api/v1/namespaces/default/services/" + tc.name + "/proxy/").Do(ctx).StatusCode(&code).Raw()
		if code != tc.code || !strings.Contains(string(raw), tc.msg) {
			t.Errorf("services/%s/proxy: %d %s, want %d %q", tc.name, code, raw, tc.code, tc.msg)
		}
	}
}
