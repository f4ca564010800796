package pod

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// proxyLocation is upstream's pod ResourceLocation, where pods/proxy goes: the pod's IP and the
// port of the name ("https:web-0:8443"), else the first port of the first container that has
// one, reached from the API server through the node network (Skiff's API server runs on a node
// of the cluster, so pod IPs are routable from it).
func (s *podStreams) proxyLocation(ctx context.Context, id string) (*url.URL, http.RoundTripper, error) {
	scheme, name, port, valid := utilnet.SplitSchemeNamePort(id)
	if !valid {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("invalid pod request %q", id))
	}
	pod, err := s.getPod(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	if pod.Status.PodIP == "" {
		return nil, nil, apierrors.NewServiceUnavailable(fmt.Sprintf("pod %s has no IP address yet", pod.Name))
	}
	if err := registry.ProxyableIP(pod.Status.PodIP); err != nil {
		return nil, nil, apierrors.NewBadRequest(err.Error())
	}
	host := pod.Status.PodIP
	if port == "" {
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
	return &url.URL{Scheme: scheme, Host: host}, registry.ProxyTransport, nil
}
