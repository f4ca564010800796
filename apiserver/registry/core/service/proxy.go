package service

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	apiproxy "k8s.io/apiserver/pkg/util/proxy"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// proxyLocator finds where services/proxy goes, as upstream's service REST ResourceLocation.
type proxyLocator struct {
	services       *genericregistry.Store
	endpointSlices func() *genericregistry.Store
	pods           func() *genericregistry.Store
}

// location picks a random ready endpoint of the service's port ("web", "web:80", "web:http",
// "https:web:443": a port number names the service port it is), whose pod has the endpoint's
// address, and reaches it through the node network like pods/proxy.
func (l *proxyLocator) location(ctx context.Context, id string) (*url.URL, http.RoundTripper, error) {
	scheme, name, port, valid := utilnet.SplitSchemeNamePort(id)
	if !valid {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("invalid service request %q", id))
	}
	if n, err := strconv.ParseInt(port, 10, 64); err == nil {
		obj, err := l.services.Get(ctx, name, &metav1.GetOptions{})
		if err != nil {
			return nil, nil, err
		}
		found := false
		for _, p := range obj.(*corev1.Service).Spec.Ports {
			if int64(p.Port) == n {
				port, found = p.Name, true
				break
			}
		}
		if !found {
			return nil, nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no service port %d found for service %q", n, name))
		}
	}
	namespace := genericapirequest.NamespaceValue(ctx)
	if namespace == "" {
		return nil, nil, apierrors.NewBadRequest("missing required namespace")
	}
	list, err := l.endpointSlices().List(ctx, &metainternalversion.ListOptions{
		LabelSelector: labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: name})})
	if err != nil {
		return nil, nil, apierrors.NewInternalError(err)
	}
	items := list.(*discoveryv1.EndpointSliceList).Items
	if len(items) == 0 {
		return nil, nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", name))
	}
	slices := make([]*discoveryv1.EndpointSlice, len(items))
	for i := range items {
		slices[i] = &items[i]
	}
	hostPort, err := apiproxy.RandomEndpoint(name, slices, port, corev1.IPv4Protocol, func(ep *discoveryv1.Endpoint) bool {
		if err := l.validAddress(ctx, namespace, ep); err != nil {
			utilruntime.HandleError(fmt.Errorf("endpoint %v isn't valid (%w)", ep, err))
			return false
		}
		return true
	})
	if err != nil {
		return nil, nil, err
	}
	if scheme == "" {
		scheme = "http"
	}
	return &url.URL{Scheme: scheme, Host: hostPort}, registry.ProxyTransport, nil
}

// validAddress is upstream's isValidAddress: only addresses of pods of the namespace.
func (l *proxyLocator) validAddress(ctx context.Context, namespace string, ep *discoveryv1.Endpoint) error {
	if ep.TargetRef == nil {
		return fmt.Errorf("endpoint has no target ref, skipping: %v", ep)
	}
	if ep.TargetRef.Namespace != namespace {
		return fmt.Errorf("endpoint namespace doesn't match context namespace")
	}
	obj, err := l.pods().Get(ctx, ep.TargetRef.Name, &metav1.GetOptions{})
	if err != nil {
		return err
	}
	pod := obj.(*corev1.Pod)
	for _, ip := range pod.Status.PodIPs {
		if ip.IP == ep.Addresses[0] {
			return registry.ProxyableIP(ip.IP)
		}
	}
	return fmt.Errorf("pod ip(s) doesn't match endpoint ip, skipping: %v vs %s (%s/%s)", pod.Status.PodIPs, ep.Addresses[0], ep.TargetRef.Namespace, ep.TargetRef.Name)
}
