package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// Kind is core/v1 nodes: the agent registers with its status, so create keeps it.
var Kind = &registry.Kind{GroupVersion: corev1.SchemeGroupVersion, Resource: "nodes", Singular: "node", ShortNames: []string{"no"},
	New: func() runtime.Object { return &corev1.Node{} }, NewList: func() runtime.Object { return &corev1.NodeList{} },
	Status: true, KeepStatusOnCreate: true,
	Fields: func(obj runtime.Object) fields.Set {
		return fields.Set{"spec.unschedulable": strconv.FormatBool(obj.(*corev1.Node).Spec.Unschedulable)}
	}}

// DefaultPort is the agent's port when a node does not report one.
const DefaultPort = 10250

// Connector finds a node agent's address and holds the transport to it, as upstream's
// NodeConnectionInfoGetter: pods' streaming subresources reach the agents through it.
type Connector struct {
	// nodes returns the nodes store (it may be built after its users).
	nodes     func() *genericregistry.Store
	tlsConfig *tls.Config
	once      sync.Once
	transport *http.Transport
}

// NewConnector reaches node agents with tlsConfig (see ClientTLS), finding them in the nodes
// store that nodes returns; without tlsConfig every connection answers 503.
func NewConnector(nodes func() *genericregistry.Store, tlsConfig *tls.Config) *Connector {
	return &Connector{nodes: nodes, tlsConfig: tlsConfig}
}

func (c *Connector) roundTripper() *http.Transport {
	c.once.Do(func() {
		cfg := c.tlsConfig.Clone()
		// Upgrades (SPDY, websocket) need HTTP/1.1.
		cfg.NextProtos = []string{"http/1.1"}
		c.transport = utilnet.SetTransportDefaults(&http.Transport{
			TLSClientConfig:     cfg,
			TLSHandshakeTimeout: 10 * time.Second,
			DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:   false,
		})
		c.transport.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	})
	return c.transport
}

// preferredAddressTypes orders node addresses: the internal IP first.
var preferredAddressTypes = []corev1.NodeAddressType{
	corev1.NodeInternalIP, corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeExternalIP, corev1.NodeExternalDNS,
}

// Connection returns the base URL (scheme and host:port) of the node's agent and the transport
// to reach it, as upstream's NodeConnectionInfoGetter.
func (c *Connector) Connection(ctx context.Context, nodeName string) (*url.URL, http.RoundTripper, error) {
	if c.tlsConfig == nil {
		return nil, nil, apierrors.NewServiceUnavailable("the API server has no client certificate for node agents")
	}
	obj, err := c.nodes().Get(genericapirequest.WithNamespace(ctx, ""), nodeName, &metav1.GetOptions{})
	if err != nil {
		return nil, nil, err
	}
	return c.ConnectionFor(obj.(*corev1.Node))
}

// ConnectionFor is Connection for a Node already read, e.g. from an informer: the resource
// metrics scraper reaches every node at every resolution, and a read from etcd per node (what
// Connection does, as upstream's connection info getter) took over a tenth of the API server's
// CPU at 5,000 nodes.
func (c *Connector) ConnectionFor(node *corev1.Node) (*url.URL, http.RoundTripper, error) {
	if c.tlsConfig == nil {
		return nil, nil, apierrors.NewServiceUnavailable("the API server has no client certificate for node agents")
	}
	port := int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	if port <= 0 {
		port = DefaultPort
	}
	host := ""
	for _, t := range preferredAddressTypes {
		for _, a := range node.Status.Addresses {
			if a.Type == t && a.Address != "" {
				host = a.Address
				break
			}
		}
		if host != "" {
			break
		}
	}
	if host == "" {
		return nil, nil, fmt.Errorf("no preferred addresses found; known addresses: %v", node.Status.Addresses)
	}
	return &url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(port))}, c.roundTripper(), nil
}

// ClientTLS is the TLS configuration toward node agents: the client certificate and key
// (PEM) and the CA (PEM) that signed the agents' serving certificates.
func ClientTLS(caPEM, certPEM, keyPEM []byte) (*tls.Config, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("node client certificate: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("node client CA: no certificate in PEM")
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS12}, nil
}
