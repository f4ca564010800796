package apiservertest

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/apiserver/pki"
)

// NodeAgentServer serves h over TLS on ip with a serving certificate of the cluster CA, as a
// node agent's server: the API server's node client (pods' streams, nodes/proxy, metrics)
// trusts it; the handler sees the client's certificate in r.TLS. It stops when the test ends.
func (s *Server) NodeAgentServer(t testing.TB, ip string, h http.Handler) *httptest.Server {
	t.Helper()
	certPEM, keyPEM, err := s.CA(t).Issue(pki.CertSpec{CommonName: "system:node:fake", Server: true, IPs: []net.IP{net.ParseIP(ip)}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	// The agent asks for the client's certificate (the handler sees the API server's).
	return serveTLS(t, l, h, certPEM, keyPEM, func(c *tls.Config) { c.ClientAuth = tls.RequestClientCert })
}

// serveTLS serves h on l over TLS with the certificate certPEM and its key; configure, if set,
// adjusts the TLS config first. The server stops when the test ends.
func serveTLS(t testing.TB, l net.Listener, h http.Handler, certPEM, keyPEM []byte, configure func(*tls.Config)) *httptest.Server {
	t.Helper()
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: h}, TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}
	if configure != nil {
		configure(srv.TLS)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// FakeNode serves h on ip as the agent of a new Ready Node name (NodeAgentServer), whose
// address and kubelet endpoint point at it.
func (s *Server) FakeNode(t testing.TB, name, ip string, h http.Handler) *corev1.Node {
	t.Helper()
	srv := s.NodeAgentServer(t, ip, h)
	node, err := s.Client.CoreV1().Nodes().Create(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{
			Conditions:      []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(srv.Listener.Addr().(*net.TCPAddr).Port)}},
		}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return node
}
