package apiservertest

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/pki"
)

// ServiceBackend is a local TLS server that the API server reaches through a Service, as it
// reaches webhooks and aggregated APIs by Service reference.
type ServiceBackend struct {
	// CA signed the serving certificate (DNS name <name>.<namespace>.svc): the caBundle to give.
	CA *pki.CA
	// Port is the listener's port, the Service's targetPort.
	Port int32
	// Server is the running server; configure its TLS before ServeThroughService starts it.
	Server *httptest.Server
}

// ServeThroughService serves h over TLS on a non-loopback address of this machine (EndpointSlices
// refuse loopback ones) behind the Service namespace/name, port 443 named https, with one ready
// EndpointSlice, so the API server's service resolver finds it. configure, if set, adjusts the
// TLS config (e.g. to request client certificates). It skips the test on a machine without
// such an address; the server stops when the test ends.
func (s *Server) ServeThroughService(t *testing.T, namespace, name string, h http.Handler, configure func(*tls.Config)) *ServiceBackend {
	t.Helper()
	ip := NonLoopbackIP(t)
	ca, err := pki.LoadOrCreateCA(t.TempDir(), "ca", name+"-ca")
	if err != nil {
		t.Fatal(err)
	}
	dns := name + "." + namespace + ".svc"
	certPEM, keyPEM, err := ca.Issue(pki.CertSpec{CommonName: dns, DNSNames: []string{dns}, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("listening on %s: %v", ip, err)
	}
	srv := serveTLS(t, l, h, certPEM, keyPEM, configure)
	port := int32(srv.Listener.Addr().(*net.TCPAddr).Port)

	ctx := context.Background()
	if _, err := s.Client.CoreV1().Services(namespace).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(port)}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.DiscoveryV1().EndpointSlices(namespace).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: &port}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return &ServiceBackend{CA: ca, Port: port, Server: srv}
}

// NonLoopbackIP is an IPv4 address of this machine that EndpointSlices accept; the test is
// skipped without one.
func NonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skip(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address")
	return ""
}
