package registry

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/apiserver/pkg/registry/rest"
)

// ProxyLocation finds where a proxy subresource's request goes: the scheme, host and base path,
// and the transport to reach it, from the name in the request, which may carry a scheme and a
// port ("https:web:8443", as upstream's SplitSchemeNamePort reads it).
type ProxyLocation func(ctx context.Context, id string) (*url.URL, http.RoundTripper, error)

// ProxyREST serves pods/proxy, services/proxy and nodes/proxy, after upstream's ProxyREST of
// each: the request's method, the rest of its path and its query go to the location, through
// k8s.io/apimachinery's upgrade-aware proxy with upstream's rewriting of the links of HTML
// answers to the proxy path.
type ProxyREST struct {
	// Singular is the parent's singular name, Namespaced its scope.
	Singular   string
	Namespaced bool
	// Options makes the subresource's options (*corev1.PodProxyOptions, ServiceProxyOptions or
	// NodeProxyOptions).
	Options  func() runtime.Object
	Location ProxyLocation
}

var (
	_ rest.Connecter = &ProxyREST{}
	_ rest.Scoper    = &ProxyREST{}
)

// NewProxyREST builds a proxy subresource and registers the query decoding of its options.
func NewProxyREST(c *Context, singular string, namespaced bool, options func() runtime.Object, location ProxyLocation) (*ProxyREST, error) {
	if err := c.Scheme.AddConversionFunc((*url.Values)(nil), options(), func(a, b any, _ conversion.Scope) error {
		path := ""
		if v := (*a.(*url.Values))["path"]; len(v) > 0 {
			path = v[0]
		}
		return setProxyPath(b, path)
	}); err != nil {
		return nil, err
	}
	return &ProxyREST{Singular: singular, Namespaced: namespaced, Options: options, Location: location}, nil
}

// ProxyMethods are the methods upstream's proxy subresources serve.
var ProxyMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

func (r *ProxyREST) New() runtime.Object      { return r.Options() }
func (r *ProxyREST) Destroy()                 {}
func (r *ProxyREST) NamespaceScoped() bool    { return r.Namespaced }
func (r *ProxyREST) GetSingularName() string  { return r.Singular }
func (r *ProxyREST) ConnectMethods() []string { return ProxyMethods }

func (r *ProxyREST) NewConnectOptions() (runtime.Object, bool, string) {
	return r.Options(), true, "path"
}

func (r *ProxyREST) Connect(ctx context.Context, id string, opts runtime.Object, responder rest.Responder) (http.Handler, error) {
	path, err := proxyPath(opts)
	if err != nil {
		return nil, err
	}
	loc, transport, err := r.Location(ctx, id)
	if err != nil {
		return nil, err
	}
	loc.Path = utilnet.JoinPreservingTrailingSlash(loc.Path, path)
	return proxy.NewUpgradeAwareHandler(loc, transport, true, false, proxy.NewErrorResponder(responder)), nil
}

func proxyPath(opts runtime.Object) (string, error) {
	switch o := opts.(type) {
	case *corev1.PodProxyOptions:
		return o.Path, nil
	case *corev1.ServiceProxyOptions:
		return o.Path, nil
	case *corev1.NodeProxyOptions:
		return o.Path, nil
	}
	return "", fmt.Errorf("invalid options object: %#v", opts)
}

func setProxyPath(opts any, path string) error {
	switch o := opts.(type) {
	case *corev1.PodProxyOptions:
		*o = corev1.PodProxyOptions{TypeMeta: o.TypeMeta, Path: path}
	case *corev1.ServiceProxyOptions:
		*o = corev1.ServiceProxyOptions{TypeMeta: o.TypeMeta, Path: path}
	case *corev1.NodeProxyOptions:
		*o = corev1.NodeProxyOptions{TypeMeta: o.TypeMeta, Path: path}
	default:
		return fmt.Errorf("invalid options object: %#v", opts)
	}
	return nil
}

// ProxyTransport reaches pods (pods/proxy, services/proxy) and nodes on other ports than their
// agent's, as kube-apiserver's proxy transport: the pods' serving certificates are not checked.
var ProxyTransport http.RoundTripper = utilnet.SetTransportDefaults(&http.Transport{
	DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as kube-apiserver's proxy transport
	TLSHandshakeTimeout: 10 * time.Second,
})

// ProxyableIP is upstream's IsProxyableIP: never loopback, link-local or unspecified addresses.
func ProxyableIP(s string) error {
	ip := net.ParseIP(s)
	if ip == nil {
		return fmt.Errorf("%q is not a valid IP address", s)
	}
	if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsUnspecified() {
		return fmt.Errorf("address not allowed")
	}
	return nil
}
