package core

import (
	"crypto/tls"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	"github.com/skiff-dev/skiff/apiserver/registry/core/namespace"
	"github.com/skiff-dev/skiff/apiserver/registry/core/node"
	"github.com/skiff-dev/skiff/apiserver/registry/core/pod"
	"github.com/skiff-dev/skiff/apiserver/registry/core/service"
)

var core = corev1.SchemeGroupVersion

// The plain core/v1 kinds: served from the generic store, with nothing of their own beyond the
// Kind descriptor.
var (
	EndpointsKind = &registry.Kind{GroupVersion: core, Resource: "endpoints", Singular: "endpoints", Namespaced: true, ShortNames: []string{"ep"},
		AllowCreateOnUpdate: true,
		New:                 func() runtime.Object { return &corev1.Endpoints{} }, NewList: func() runtime.Object { return &corev1.EndpointsList{} }}
	EventKind = &registry.Kind{GroupVersion: core, Resource: "events", Singular: "event", Namespaced: true, ShortNames: []string{"ev"},
		AllowCreateOnUpdate: true,
		New:                 func() runtime.Object { return &corev1.Event{} }, NewList: func() runtime.Object { return &corev1.EventList{} },
		Fields: coreEventFields}
	ConfigMapKind = &registry.Kind{GroupVersion: core, Resource: "configmaps", Singular: "configmap", Namespaced: true, ShortNames: []string{"cm"},
		New: func() runtime.Object { return &corev1.ConfigMap{} }, NewList: func() runtime.Object { return &corev1.ConfigMapList{} }}
	SecretKind = &registry.Kind{GroupVersion: core, Resource: "secrets", Singular: "secret", Namespaced: true,
		New: func() runtime.Object { return &corev1.Secret{} }, NewList: func() runtime.Object { return &corev1.SecretList{} },
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"type": string(obj.(*corev1.Secret).Type)}
		}}
	ServiceAccountKind = &registry.Kind{GroupVersion: core, Resource: "serviceaccounts", Singular: "serviceaccount", Namespaced: true, ShortNames: []string{"sa"},
		New: func() runtime.Object { return &corev1.ServiceAccount{} }, NewList: func() runtime.Object { return &corev1.ServiceAccountList{} }}
)

// Provider builds the legacy core/v1 group: pods, nodes, namespaces and services from their own
// packages, the plain kinds here, and serviceaccounts/token.
type Provider struct {
	// Services are the ClusterIP and NodePort ranges.
	Services service.Config
	// NodeClientTLS is how the API server reaches node agents for pods/log, exec, attach and
	// portforward: a client certificate of the cluster CA (CN kube-apiserver-kubelet-client,
	// bound to system:kubelet-api-admin) and the roots that verify the agents' serving
	// certificates (node.ClientTLS). Without it those subresources answer 503.
	NodeClientTLS *tls.Config
	// ServiceAccountTokens configures serviceaccounts/token (TokenRequest).
	ServiceAccountTokens ServiceAccountTokens

	kubernetesServiceIP string
	nodes               *node.Connector
}

func (*Provider) GroupName() string { return corev1.GroupName }

// KubernetesServiceIP is the first service IP, reserved for default/kubernetes; set by
// NewRESTStorage.
func (p *Provider) KubernetesServiceIP() string { return p.kubernetesServiceIP }

// NodeConnector is how the API server reaches node agents (pods' streams, the resource
// metrics scraper); set by NewRESTStorage.
func (p *Provider) NodeConnector() *node.Connector { return p.nodes }

func (p *Provider) NewRESTStorage(c *registry.Context) (map[string]map[string]rest.Storage, error) {
	m := map[string]rest.Storage{}
	add := func(paths map[string]rest.Storage) {
		for path, s := range paths {
			m[path] = s
		}
	}
	nodes := node.NewConnector(c.StoreFunc(node.Kind.GroupResource(), "pods' streams"), p.NodeClientTLS)
	p.nodes = nodes
	pods, err := pod.NewREST(c, nodes)
	if err != nil {
		return nil, err
	}
	add(pods)
	if err := c.AddKinds(m, node.Kind); err != nil {
		return nil, err
	}
	if m["nodes/proxy"], err = node.NewProxyREST(c, nodes); err != nil {
		return nil, err
	}
	namespaces, err := namespace.NewREST(c)
	if err != nil {
		return nil, err
	}
	add(namespaces)
	services, kubernetesIP, err := service.NewREST(c, p.Services)
	if err != nil {
		return nil, err
	}
	add(services)
	p.kubernetesServiceIP = kubernetesIP
	if err := c.AddKinds(m, EndpointsKind, EventKind, ConfigMapKind, SecretKind, ServiceAccountKind, ResourceQuotaKind, LimitRangeKind, PodTemplateKind, PersistentVolumeClaimKind, PersistentVolumeKind); err != nil {
		return nil, err
	}
	if err := addReplicationControllers(c, m); err != nil {
		return nil, err
	}
	m["serviceaccounts/token"] = newTokenREST(p.ServiceAccountTokens, c.Stores)
	return map[string]map[string]rest.Storage{core.Version: m}, nil
}

func coreEventFields(obj runtime.Object) fields.Set {
	e := obj.(*corev1.Event)
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	return fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         source,
		"type":                           e.Type,
	}
}
