package service

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/klog/v2"

	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// Kind is core/v1 services; allocation of ClusterIPs and NodePorts is wired by NewREST.
var Kind = &registry.Kind{GroupVersion: corev1.SchemeGroupVersion, Resource: "services", Singular: "service", Namespaced: true, ShortNames: []string{"svc"},
	Categories: []string{"all"}, Status: true,
	New: func() runtime.Object { return &corev1.Service{} }, NewList: func() runtime.Object { return &corev1.ServiceList{} }}

// Config are the service ranges.
type Config struct {
	// ClusterIPRange is the IPv4 CIDR service ClusterIPs come from.
	ClusterIPRange string
	// NodePortRange is the NodePort range, DefaultNodePortRange when empty.
	NodePortRange string
}

// NewREST builds the services storage with ClusterIP allocation (through the
// networking.k8s.io ipaddresses store, which another group builds) and NodePort allocation
// (a bitmap in etcd). It also returns the first service IP, reserved for default/kubernetes.
func NewREST(c *registry.Context, cfg Config) (map[string]rest.Storage, string, error) {
	st, err := c.NewStorage(Kind)
	if err != nil {
		return nil, "", err
	}
	ipAddresses := networkingv1.SchemeGroupVersion.WithResource("ipaddresses").GroupResource()
	alloc, err := newIPAllocator(cfg.ClusterIPRange, c.StoreFunc(ipAddresses, "services"))
	if err != nil {
		return nil, "", err
	}
	nodePortRange := cfg.NodePortRange
	if nodePortRange == "" {
		nodePortRange = DefaultNodePortRange
	}
	ports, err := newPortAllocator(nodePortRange, c.RESTOptionsGetter)
	if err != nil {
		return nil, "", err
	}
	wireServiceAllocation(st.Store, alloc, ports)
	// The allocator's raw storage (its etcd client) is released with the services store; kept
	// open, it held the embedded etcd's shutdown for its 7 s request timeout.
	if destroy := st.Store.DestroyFunc; destroy != nil {
		st.Store.DestroyFunc = func() { destroy(); ports.destroy() }
	} else {
		st.Store.DestroyFunc = ports.destroy
	}
	locator := &proxyLocator{services: st.Store,
		endpointSlices: c.StoreFunc(discoveryv1.SchemeGroupVersion.WithResource("endpointslices").GroupResource(), "services/proxy"),
		pods:           c.StoreFunc(corev1.SchemeGroupVersion.WithResource("pods").GroupResource(), "services/proxy")}
	proxy, err := registry.NewProxyREST(c, "service", true, func() runtime.Object { return &corev1.ServiceProxyOptions{} }, locator.location)
	if err != nil {
		return nil, "", err
	}
	st.Subresources["proxy"] = proxy
	return st.Paths(Kind), alloc.First(), nil
}

// needsClusterIP tells whether a service type gets a ClusterIP.
func needsClusterIP(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone
}

// wireServiceAllocation makes the services store allocate ClusterIPs on create (and on a change
// away from ExternalName) and NodePorts (NodePort and LoadBalancer types, the health-check port
// of LoadBalancer services with externalTrafficPolicy Local), keep them on updates that omit
// them, and release them on delete and on type changes that drop them.
func wireServiceAllocation(store *genericregistry.Store, alloc *ipAllocator, ports *portAllocator) {
	store.BeginCreate = func(ctx context.Context, obj runtime.Object, options *metav1.CreateOptions) (genericregistry.FinishFunc, error) {
		svc := obj.(*corev1.Service)
		if ns, ok := genericapirequest.NamespaceFrom(ctx); ok && svc.Namespace == "" {
			svc.Namespace = ns
		}
		dryRun := len(options.DryRun) > 0
		finishIP := genericregistry.FinishFunc(noop)
		if needsClusterIP(svc) {
			f, err := allocateFor(ctx, alloc, svc, dryRun)
			if err != nil {
				return nil, err
			}
			finishIP = f
		}
		op := ports.begin(dryRun)
		if needsNodePorts(svc) {
			if err := initNodePorts(ctx, svc, op); err != nil {
				logRelease(ctx, op.finish(ctx, false))
				finishIP(ctx, false)
				return nil, err
			}
		}
		return func(ctx context.Context, success bool) {
			logRelease(ctx, op.finish(ctx, success))
			finishIP(ctx, success)
		}, nil
	}
	// attempts holds, per update request (its options), the NodePort operation of an attempt
	// that finished before its write: the store calls BeginUpdate again when the write
	// conflicts (its object from the watch cache was stale), and that attempt is undone first,
	// or the retry finds its own new port taken.
	var attempts sync.Map
	store.AfterUpdate = func(_ runtime.Object, options *metav1.UpdateOptions) { attempts.Delete(options) }
	store.BeginUpdate = func(ctx context.Context, obj, old runtime.Object, options *metav1.UpdateOptions) (genericregistry.FinishFunc, error) {
		svc, oldSvc := obj.(*corev1.Service), old.(*corev1.Service)
		keepAllocated(svc, oldSvc)
		dryRun := len(options.DryRun) > 0
		if prev, ok := attempts.LoadAndDelete(options); ok {
			logRelease(ctx, prev.(*portOp).undo(ctx))
		}
		op := ports.begin(dryRun)
		if err := updateNodePorts(ctx, svc, oldSvc, op); err != nil {
			logRelease(ctx, op.finish(ctx, false))
			return nil, err
		}
		dropTypeDependentFields(svc, oldSvc)
		finishIP, err := updateClusterIP(ctx, alloc, svc, oldSvc, dryRun)
		if err != nil {
			logRelease(ctx, op.finish(ctx, false))
			return nil, err
		}
		return func(ctx context.Context, success bool) {
			logRelease(ctx, op.finish(ctx, success))
			if success && !dryRun {
				attempts.Store(options, op)
			}
			finishIP(ctx, success)
		}, nil
	}
	store.AfterDelete = func(obj runtime.Object, options *metav1.DeleteOptions) {
		svc := obj.(*corev1.Service)
		if len(options.DryRun) > 0 {
			return
		}
		ctx := context.Background()
		if needsNodePorts(svc) || svc.Spec.HealthCheckNodePort != 0 {
			var np []int
			for p := range serviceNodePorts(svc) {
				np = append(np, int(p))
			}
			if svc.Spec.HealthCheckNodePort != 0 {
				np = append(np, int(svc.Spec.HealthCheckNodePort))
			}
			logRelease(ctx, ports.release(ctx, np...))
		}
		if !needsClusterIP(svc) || svc.Spec.ClusterIP == "" {
			return
		}
		logRelease(ctx, alloc.release(ctx, svc.Spec.ClusterIP))
	}
}

// updateClusterIP allocates a ClusterIP for a service that gains one, or releases it when the
// service becomes ExternalName.
func updateClusterIP(ctx context.Context, alloc *ipAllocator, svc, oldSvc *corev1.Service, dryRun bool) (genericregistry.FinishFunc, error) {
	switch {
	case needsClusterIP(svc) && (oldSvc.Spec.ClusterIP == "" || oldSvc.Spec.Type == corev1.ServiceTypeExternalName) && svc.Spec.ClusterIP == "":
		return allocateFor(ctx, alloc, svc, dryRun)
	case svc.Spec.Type == corev1.ServiceTypeExternalName && oldSvc.Spec.ClusterIP != "" && oldSvc.Spec.ClusterIP != corev1.ClusterIPNone:
		ip := oldSvc.Spec.ClusterIP
		return func(ctx context.Context, success bool) {
			if success && !dryRun {
				logRelease(ctx, alloc.release(ctx, ip))
			}
		}, nil
	}
	return noop, nil
}

func noop(context.Context, bool) {}

func logRelease(ctx context.Context, err error) {
	if err != nil {
		klog.FromContext(ctx).Error(err, "Releasing a service allocation failed")
	}
}

// allocateFor sets svc's ClusterIP(s), returning a finish func that releases them on failure.
func allocateFor(ctx context.Context, alloc *ipAllocator, svc *corev1.Service, dryRun bool) (genericregistry.FinishFunc, error) {
	ip, err := alloc.allocate(ctx, svc, svc.Spec.ClusterIP, dryRun)
	if err != nil {
		if apierrors.IsInternalError(err) {
			return nil, err
		}
		path := field.NewPath("spec", "clusterIPs")
		return nil, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name,
			field.ErrorList{field.Invalid(path, svc.Spec.ClusterIPs, err.Error())})
	}
	svc.Spec.ClusterIP, svc.Spec.ClusterIPs = ip, []string{ip}
	if len(svc.Spec.IPFamilies) == 0 {
		svc.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
	}
	if svc.Spec.IPFamilyPolicy == nil {
		single := corev1.IPFamilyPolicySingleStack
		svc.Spec.IPFamilyPolicy = &single
	}
	return func(ctx context.Context, success bool) {
		if !success && !dryRun {
			logRelease(ctx, alloc.release(ctx, ip))
		}
	}, nil
}

// keepAllocated copies allocated values an update left out, as upstream's patchAllocatedValues.
func keepAllocated(svc, old *corev1.Service) {
	if needsClusterIP(svc) && svc.Spec.ClusterIP == "" && len(svc.Spec.ClusterIPs) == 0 && old.Spec.Type != corev1.ServiceTypeExternalName {
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = old.Spec.ClusterIP, old.Spec.ClusterIPs
		if len(svc.Spec.IPFamilies) == 0 || svc.Spec.IPFamilyPolicy == nil {
			svc.Spec.IPFamilies, svc.Spec.IPFamilyPolicy = old.Spec.IPFamilies, old.Spec.IPFamilyPolicy
		}
	}
	keepNodePorts(svc, old)
}
