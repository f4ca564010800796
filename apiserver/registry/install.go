package registry

import (
	"crypto/tls"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
)

// Groups is the result of building all storage: the API groups to install, legacy core first.
type Groups struct {
	Legacy *genericapiserver.APIGroupInfo
	Named  []*genericapiserver.APIGroupInfo
	// Stores gives each kind's storage by group resource, for code that needs the store itself.
	Stores map[schema.GroupResource]*Storage
	// KubernetesServiceIP is the first service IP, reserved for default/kubernetes.
	KubernetesServiceIP string
}

// Options are the settings storage needs.
type Options struct {
	// ServiceClusterIPRange is the IPv4 CIDR service ClusterIPs come from.
	ServiceClusterIPRange string
	// ServiceNodePortRange is the NodePort range, "30000-32767" when empty.
	ServiceNodePortRange string
	// NodeClientTLS is how the API server reaches node agents for pods/log, exec, attach and
	// portforward: a client certificate of the cluster CA (CN kube-apiserver-kubelet-client,
	// bound to system:kubelet-api-admin) and the roots that verify the agents' serving
	// certificates. Without it those subresources answer 503.
	NodeClientTLS *tls.Config
	// ServiceAccountTokens configures serviceaccounts/token (TokenRequest).
	ServiceAccountTokens ServiceAccountTokens
	// TokenReviews configures authentication.k8s.io/v1 tokenreviews.
	TokenReviews TokenReviews
	// Authorizer and RuleResolver answer the authorization.k8s.io reviews; RBACGuard refuses
	// RBAC writes that escalate privileges. Without them the reviews are not served and RBAC
	// writes are not checked.
	Authorizer   authorizer.Authorizer
	RuleResolver authorizer.RuleResolver
	RBACGuard    RBACGuard
}

// Build creates the storage of every served kind and groups it for installation.
func Build(scheme *runtime.Scheme, codecs serializer.CodecFactory, optsGetter generic.RESTOptionsGetter, o Options) (*Groups, error) {
	out := &Groups{Stores: map[schema.GroupResource]*Storage{}}
	if err := addStreamOptionConversions(scheme); err != nil {
		return nil, err
	}
	infos := map[string]*genericapiserver.APIGroupInfo{}
	var order []string
	infoFor := func(gv schema.GroupVersion) map[string]rest.Storage {
		info, ok := infos[gv.Group]
		if !ok {
			i := genericapiserver.NewDefaultAPIGroupInfo(gv.Group, scheme, runtime.NewParameterCodec(scheme), codecs)
			info = &i
			infos[gv.Group] = info
			order = append(order, gv.Group)
		}
		m, ok := info.VersionedResourcesStorageMap[gv.Version]
		if !ok {
			m = map[string]rest.Storage{}
			info.VersionedResourcesStorageMap[gv.Version] = m
		}
		return m
	}
	for _, k := range Kinds {
		st, err := NewStorage(scheme, k, optsGetter)
		if err != nil {
			return nil, err
		}
		addSubresources(k, st, o, out.Stores)
		out.Stores[k.GroupResource()] = st
		m := infoFor(k.GroupVersion)
		for path, s := range st.Paths(k) {
			m[path] = s
		}
		if k == NamespaceKind {
			m["namespaces"] = &namespaceREST{mainREST: m["namespaces"].(*mainREST)}
		}
		if k == PodKind {
			m["bindings"] = st.Subresources["binding"]
		}
	}
	alloc, err := newIPAllocator(o.ServiceClusterIPRange, out.Stores[IPAddressKind.GroupResource()].Store)
	if err != nil {
		return nil, err
	}
	nodePortRange := o.ServiceNodePortRange
	if nodePortRange == "" {
		nodePortRange = DefaultServiceNodePortRange
	}
	ports, err := newPortAllocator(nodePortRange, optsGetter)
	if err != nil {
		return nil, err
	}
	svcStore := out.Stores[schema.GroupResource{Resource: "services"}].Store
	wireServiceAllocation(svcStore, alloc, ports)
	// The allocator's raw storage (its etcd client) is released with the services store; kept
	// open, it held the embedded etcd's shutdown for its 7 s request timeout.
	if destroy := svcStore.DestroyFunc; destroy != nil {
		svcStore.DestroyFunc = func() { destroy(); ports.destroy() }
	} else {
		svcStore.DestroyFunc = ports.destroy
	}
	out.KubernetesServiceIP = alloc.First()
	infoFor(authenticationv1.SchemeGroupVersion)["selfsubjectreviews"] = &selfSubjectReviewREST{}
	wireRBACGuard(out.Stores, o.RBACGuard)
	if o.Authorizer != nil {
		addAuthorizationReviews(infoFor(authorizationv1.SchemeGroupVersion), o.Authorizer, o.RuleResolver)
	}
	infoFor(core)["serviceaccounts/token"] = newTokenREST(o.ServiceAccountTokens, out.Stores)
	infoFor(authenticationv1.SchemeGroupVersion)["tokenreviews"] = &tokenReviewREST{cfg: o.TokenReviews}
	infoFor(eventsv1.SchemeGroupVersion)["events"] = newEventsREST(out.Stores[schema.GroupResource{Resource: "events"}].Store)
	for _, g := range order {
		if g == "" {
			out.Legacy = infos[g]
			continue
		}
		out.Named = append(out.Named, infos[g])
	}
	if out.Legacy == nil {
		return nil, fmt.Errorf("no core group built")
	}
	return out, nil
}

// addSubresources adds the subresources that need their own code.
func addSubresources(k *Kind, st *Storage, o Options, stores map[schema.GroupResource]*Storage) {
	switch k {
	case PodKind:
		st.Subresources["binding"] = &bindingREST{store: st.Store}
		addPodStreams(st, newNodeConnector(o, stores))
	case NamespaceKind:
		st.Subresources["finalize"] = newFinalizeREST(st.Store, newStrategy(st.Store.CreateStrategy.(*strategy).ObjectTyper, k, false))
	case DeploymentKind:
		st.Subresources["scale"] = &scaleREST{store: st.Store, kind: k, toScale: deploymentScale, setReplicas: setDeploymentReplicas}
	case ReplicaSetKind:
		st.Subresources["scale"] = &scaleREST{store: st.Store, kind: k, toScale: replicaSetScale, setReplicas: setReplicaSetReplicas}
	case CSRKind:
		wireCSR(st)
	}
}
