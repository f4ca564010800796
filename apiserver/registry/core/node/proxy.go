package node

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	utilnet "k8s.io/apimachinery/pkg/util/net"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// NewProxyREST builds nodes/proxy, after upstream's pkg/registry/core/node/rest ProxyREST: to
// the node agent's server with the API server's node client credentials (the agent authorizes
// them as nodes/proxy), or, for another port in the name ("https:node-1:9100"), to that port of
// the node's address with the proxy transport.
func NewProxyREST(c *registry.Context, nodes *Connector) (*registry.ProxyREST, error) {
	return registry.NewProxyREST(c, "node", false, func() runtime.Object { return &corev1.NodeProxyOptions{} }, nodes.proxyLocation)
}

// proxyLocation is upstream's node ResourceLocation.
func (c *Connector) proxyLocation(ctx context.Context, id string) (*url.URL, http.RoundTripper, error) {
	scheme, name, port, valid := utilnet.SplitSchemeNamePort(id)
	if !valid {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("invalid node request %q", id))
	}
	base, transport, err := c.Connection(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	host, agentPort, err := net.SplitHostPort(base.Host)
	if err != nil {
		return nil, nil, err
	}
	if err := proxyableHostname(ctx, host); err != nil {
		return nil, nil, apierrors.NewBadRequest(err.Error())
	}
	if port == "" || port == agentPort {
		return base, transport, nil
	}
	return &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port)}, registry.ProxyTransport, nil
}

// proxyableHostname is upstream's isProxyableHostname: every address of the node's host must be
// a global unicast one.
func proxyableHostname(ctx context.Context, host string) error {
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return err
	}
	if len(addrs) == 0 {
		return fmt.Errorf("no addresses for hostname")
	}
	for _, a := range addrs {
		if !a.IP.IsGlobalUnicast() {
			return fmt.Errorf("address not allowed")
		}
	}
	return nil
}
