package apiserver

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// API server endpoint leases, after upstream's lease endpoint reconciler (its /masterleases/
// keys): every API server keeps a Lease named after its advertise IP alive, and every one writes
// default/kubernetes's Endpoints and EndpointSlice as the sorted IPs of the live Leases, so a
// highly available control plane lists all its members and drops a dead one within a TTL.
const (
	endpointLeasePrefix    = "apiserver-endpoint-"
	endpointLeaseLabel     = "skiff.dev/apiserver-endpoint"
	endpointLeasePort      = "skiff.dev/apiserver-port"
	endpointLeaseTTL       = 15 * time.Second
	endpointLeaseInterval  = 10 * time.Second
	kubernetesEndpointName = "kubernetes"
)

// endpointReconciler keeps this API server's endpoint Lease and default/kubernetes's endpoints.
type endpointReconciler struct {
	client kubernetes.Interface
	ip     net.IP
	port   int32
	clock  clock.WithTicker
	// running is closed when the renewal loop has stopped.
	running chan struct{}
}

func newEndpointReconciler(client kubernetes.Interface, ip net.IP, clk clock.WithTicker) *endpointReconciler {
	return &endpointReconciler{client: client, ip: ip, clock: clk}
}

func endpointLeaseName(ip net.IP) string {
	return endpointLeasePrefix + strings.NewReplacer(".", "-", ":", "-").Replace(ip.String())
}

// start writes the Lease and endpoints once and renews them until ctx ends; a server without a
// non-loopback advertise address publishes no endpoints (Endpoints may not hold loopback IPs).
func (r *endpointReconciler) start(ctx context.Context, port int32) error {
	r.port = port
	if r.ip == nil || r.ip.IsLoopback() {
		klog.FromContext(ctx).Info("No non-loopback advertise address: the kubernetes service has no endpoints")
		return nil
	}
	if err := r.sync(ctx); err != nil {
		return err
	}
	r.running = make(chan struct{})
	go func() {
		defer close(r.running)
		t := r.clock.NewTicker(endpointLeaseInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C():
				if err := r.sync(ctx); err != nil && ctx.Err() == nil {
					klog.FromContext(ctx).Error(err, "Reconciling the kubernetes service's endpoints")
				}
			}
		}
	}()
	return nil
}

// sync renews this server's Lease and reconciles the endpoints from the live Leases.
func (r *endpointReconciler) sync(ctx context.Context) error {
	if err := r.renew(ctx); err != nil {
		return err
	}
	return r.reconcile(ctx, "")
}

// preShutdown removes this server from the endpoints before it stops serving, as upstream's
// RemoveEndpoints.
func (r *endpointReconciler) preShutdown() error {
	if r.ip == nil || r.ip.IsLoopback() || r.port == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	name := endpointLeaseName(r.ip)
	if err := r.client.CoordinationV1().Leases(metav1.NamespaceSystem).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return nil // best effort: the Lease expires anyway
	}
	_ = r.reconcile(ctx, r.ip.String())
	return nil
}

func (r *endpointReconciler) renew(ctx context.Context) error {
	leases := r.client.CoordinationV1().Leases(metav1.NamespaceSystem)
	name := endpointLeaseName(r.ip)
	now := metav1.NewMicroTime(r.clock.Now())
	ttl := int32(endpointLeaseTTL / time.Second)
	holder := r.ip.String()
	cur, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: metav1.NamespaceSystem,
				Labels:      map[string]string{endpointLeaseLabel: "true"},
				Annotations: map[string]string{endpointLeasePort: strconv.Itoa(int(r.port))}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &ttl, AcquireTime: &now, RenewTime: &now},
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil // another start raced; the next tick renews
		}
	} else if err == nil {
		cur.Spec.HolderIdentity, cur.Spec.LeaseDurationSeconds, cur.Spec.RenewTime = &holder, &ttl, &now
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		cur.Annotations[endpointLeasePort] = strconv.Itoa(int(r.port))
		_, err = leases.Update(ctx, cur, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("renewing the API server endpoint lease %s: %w", name, err)
	}
	return nil
}

// liveIPs lists the IPs of unexpired endpoint Leases (minus exclude), deleting expired ones.
func (r *endpointReconciler) liveIPs(ctx context.Context, exclude string) ([]string, error) {
	leases := r.client.CoordinationV1().Leases(metav1.NamespaceSystem)
	list, err := leases.List(ctx, metav1.ListOptions{LabelSelector: endpointLeaseLabel})
	if err != nil {
		return nil, fmt.Errorf("listing API server endpoint leases: %w", err)
	}
	now := r.clock.Now()
	var ips []string
	for _, l := range list.Items {
		if l.Spec.HolderIdentity == nil || l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
			continue
		}
		ip := net.ParseIP(*l.Spec.HolderIdentity)
		if ip == nil || ip.To4() == nil || ip.String() == exclude {
			continue
		}
		if l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second).Before(now) {
			_ = leases.Delete(ctx, l.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &l.ResourceVersion}})
			continue
		}
		ips = append(ips, ip.String())
	}
	slices.Sort(ips)
	return slices.Compact(ips), nil
}

// reconcile writes default/kubernetes's Endpoints and EndpointSlice when they differ from the
// live API servers (all on this server's port, as upstream assumes).
func (r *endpointReconciler) reconcile(ctx context.Context, exclude string) error {
	ips, err := r.liveIPs(ctx, exclude)
	if err != nil {
		return err
	}
	port := r.port
	eps := r.client.CoreV1().Endpoints(metav1.NamespaceDefault)
	cur, err := eps.Get(ctx, kubernetesEndpointName, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading the kubernetes endpoints: %w", err)
	}
	if err != nil || !slices.Equal(endpointsIPs(cur), ips) || endpointsPort(cur) != port {
		ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: kubernetesEndpointName, Namespace: metav1.NamespaceDefault,
			Labels: map[string]string{"endpointslice.kubernetes.io/skip-mirror": "true"}}}
		if len(ips) > 0 {
			sub := corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Name: "https", Port: port, Protocol: corev1.ProtocolTCP}}}
			for _, ip := range ips {
				sub.Addresses = append(sub.Addresses, corev1.EndpointAddress{IP: ip})
			}
			ep.Subsets = []corev1.EndpointSubset{sub}
		}
		if _, err := eps.Update(ctx, ep, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("writing the kubernetes endpoints: %w", err)
		}
	}
	ready, name, proto := true, "https", corev1.ProtocolTCP
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: kubernetesEndpointName, Namespace: metav1.NamespaceDefault,
			Labels: map[string]string{discoveryv1.LabelServiceName: kubernetesEndpointName}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
	}
	for _, ip := range ips {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	sliceClient := r.client.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault)
	curSlice, err := sliceClient.Get(ctx, kubernetesEndpointName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = sliceClient.Create(ctx, slice, metav1.CreateOptions{})
	case err == nil:
		if sliceIPs(curSlice) == strings.Join(ips, ",") && len(curSlice.Ports) == 1 && curSlice.Ports[0].Port != nil && *curSlice.Ports[0].Port == port {
			return nil
		}
		slice.ResourceVersion = curSlice.ResourceVersion
		_, err = sliceClient.Update(ctx, slice, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("writing the kubernetes endpointslice: %w", err)
	}
	return nil
}

func endpointsIPs(ep *corev1.Endpoints) []string {
	var ips []string
	if ep == nil {
		return ips
	}
	for _, s := range ep.Subsets {
		for _, a := range s.Addresses {
			ips = append(ips, a.IP)
		}
	}
	slices.Sort(ips)
	return ips
}

func endpointsPort(ep *corev1.Endpoints) int32 {
	if ep == nil || len(ep.Subsets) == 0 || len(ep.Subsets[0].Ports) == 0 {
		return 0
	}
	return ep.Subsets[0].Ports[0].Port
}

func sliceIPs(s *discoveryv1.EndpointSlice) string {
	var ips []string
	for _, e := range s.Endpoints {
		ips = append(ips, e.Addresses...)
	}
	slices.Sort(ips)
	return strings.Join(ips, ",")
}
