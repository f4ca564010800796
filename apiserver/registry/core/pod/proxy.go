package pod

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/apiserver/pkg/registry/rest"
)

// podProxyREST serves pods/proxy, after upstream's pkg/registry/core/pod/rest ProxyREST: an
// HTTP request to the pod's IP (the name may carry a scheme and port: "https:web-0:8443"),
// sent from the API server through the node network, with upstream's URL rewriting of the
// answer. Skiff's API server runs on a node of the cluster, so pod IPs are routable from it.
type podProxyREST struct{ *podStreams }

var _ rest.Connecter = &podProxyREST{}

var proxyMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

func (r *podProxyREST) GetSingularName() string  { return "pod" }
func (r *podProxyREST) ConnectMethods() []string { return proxyMethods }

func (r *podProxyREST) NewConnectOptions() (runtime.Object, bool, string) {
	return &corev1.PodProxyOptions{}, true, "path"
}

// Connect proxies to the pod: upstream's ResourceLocation (scheme, pod IP, port of the name)
// joined with the request's path.
func (r *podProxyREST) Connect(ctx context.Context, id string, opts runtime.Object, responder rest.Responder) (http.Handler, error) {
	o, ok := opts.(*corev1.PodProxyOptions)
	if !ok {
		return nil, fmt.Errorf("invalid options object: %#v", opts)
	}
	scheme, name, port, valid := utilnet.SplitSchemeNamePort(id)
	if !valid {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid pod request %q", id))
	}
	pod, err := r.getPod(ctx, name)
	if err != nil {
		return nil, err
	}
	if pod.Status.PodIP == "" {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("pod %s has no IP address yet", pod.Name))
	}
	// Upstream's IsProxyableIP: never loopback, link-local or unspecified addresses.
	ip := net.ParseIP(pod.Status.PodIP)
	if ip == nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsUnspecified() {
		return nil, apierrors.NewBadRequest("address not allowed")
	}
	host := pod.Status.PodIP
	if port == "" {
		// Upstream's ResourceLocation: the first port of the first container that has one.
		for i := range pod.Spec.Containers {
			if ps := pod.Spec.Containers[i].Ports; len(ps) > 0 {
				port = strconv.Itoa(int(ps[0].ContainerPort))
				break
			}
		}
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if net.ParseIP(host).To4() == nil {
		host = "[" + host + "]"
	}
	if scheme == "" {
		scheme = "http"
	}
	loc := &url.URL{Scheme: scheme, Host: host, Path: o.Path}
	if loc.Path == "" {
		loc.Path = "/"
	}
	h := proxy.NewUpgradeAwareHandler(loc, http.DefaultTransport, true, false, proxy.NewErrorResponder(responder))
	return h, nil
}
