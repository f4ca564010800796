package apiserver

import (
	"net/url"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apiserver/pkg/util/proxy"
	listersv1 "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

func TestServiceResolver(t *testing.T) {
	services := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	slices := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	svc := func(name, clusterIP string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "hooks", Name: name}, Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, ClusterIP: clusterIP,
			Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8443)}}}}
	}
	slice := func(service, name string, ready bool, ips ...string) *discoveryv1.EndpointSlice {
		s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "hooks", Name: name,
			Labels: map[string]string{discoveryv1.LabelServiceName: service}}, AddressType: discoveryv1.AddressTypeIPv4,
			Ports: []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To[int32](8443)}}}
		for _, ip := range ips {
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
		}
		return s
	}
	for _, o := range []any{svc("ready", "10.96.0.10"), svc("unready", "10.96.0.11"), svc("headless", corev1.ClusterIPNone),
		slice("ready", "ready-1", false, "10.244.0.4"), slice("ready", "ready-2", true, "10.244.1.5"),
		slice("unready", "unready-1", false, "10.244.0.6")} {
		var err error
		if s, ok := o.(*corev1.Service); ok {
			err = services.Add(s)
		} else {
			err = slices.Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	getter, err := proxy.NewEndpointSliceListerGetter(discoverylisters.NewEndpointSliceLister(slices))
	if err != nil {
		t.Fatal(err)
	}
	loopback, _ := url.Parse("https://127.0.0.1:6443")
	r := &serviceResolver{services: listersv1.NewServiceLister(services), slices: getter, loopback: loopback}

	for _, tt := range []struct {
		name, service string
		port          int32
		want          string // "" for an error
	}{
		{"a ready endpoint and its target port", "ready", 443, "https://10.244.1.5:8443"},
		{"no ready endpoint: the ClusterIP", "unready", 443, "https://10.96.0.11:443"},
		{"headless without endpoints", "headless", 443, ""},
		{"unknown port", "ready", 80, ""},
		{"missing service", "missing", 443, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u, err := r.ResolveEndpoint("hooks", tt.service, tt.port)
			switch {
			case tt.want == "" && err == nil:
				t.Errorf("got %v, want an error", u)
			case tt.want != "" && (err != nil || u.String() != tt.want):
				t.Errorf("got %v, %v; want %s", u, err, tt.want)
			}
		})
	}
	if u, err := r.ResolveEndpoint("default", "kubernetes", 443); err != nil || u.String() != "https://127.0.0.1:6443" {
		t.Errorf("default/kubernetes: %v, %v", u, err)
	}
}
