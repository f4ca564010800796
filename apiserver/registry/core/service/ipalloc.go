package service

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
)

// ipAllocator hands out service ClusterIPs from one IPv4 range.
type ipAllocator struct {
	cidr *net.IPNet
	base uint32
	size uint32 // usable addresses: the range minus network and broadcast
	// store returns the networking.k8s.io ipaddresses store (built after services).
	store func() *genericregistry.Store
}

func newIPAllocator(cidr string, store func() *genericregistry.Store) (*ipAllocator, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, fmt.Errorf("service cluster IP range %q: %w", cidr, err)
	}
	ones, bits := n.Mask.Size()
	if n.IP.To4() == nil || bits != 32 || ones > 30 {
		return nil, fmt.Errorf("service cluster IP range %q: need an IPv4 range of /30 or larger", cidr)
	}
	return &ipAllocator{cidr: n, base: binary.BigEndian.Uint32(n.IP.To4()), size: 1<<(32-ones) - 2, store: store}, nil
}

// First is the range's first usable address, reserved for the kubernetes Service.
func (a *ipAllocator) First() string { return a.at(0) }

func (a *ipAllocator) at(offset uint32) string {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, a.base+1+offset)
	return ip.String()
}

func (a *ipAllocator) contains(ip string) bool {
	p := net.ParseIP(ip)
	if p == nil || !a.cidr.Contains(p) {
		return false
	}
	v := binary.BigEndian.Uint32(p.To4())
	return v > a.base && v-a.base <= a.size
}

// errIPTaken and errIPRange carry upstream's wording.
func errIPTaken(ip string) error {
	return fmt.Errorf("failed to allocate IP %s: provided IP is already allocated", ip)
}
func errIPRange(ip string, cidr *net.IPNet) error {
	return fmt.Errorf("failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s", ip, ip, cidr)
}

// allocate reserves ip (or any free address when ip is empty) for svc.
func (a *ipAllocator) allocate(ctx context.Context, svc *corev1.Service, ip string, dryRun bool) (string, error) {
	if ip != "" {
		if !a.contains(ip) {
			return "", errIPRange(ip, a.cidr)
		}
		if err := a.claim(ctx, svc, ip, dryRun); err != nil {
			return "", err
		}
		return ip, nil
	}
	// Random probes first, then a scan from a random start: bounded by the range size.
	start := rand.Uint32N(a.size)
	for i := uint32(0); i < a.size; i++ {
		var off uint32
		if i < 32 {
			off = rand.Uint32N(a.size)
		} else {
			off = (start + i) % a.size
		}
		if off == 0 && !isKubernetesService(svc) {
			continue // reserved for the kubernetes Service
		}
		candidate := a.at(off)
		err := a.claim(ctx, svc, candidate, dryRun)
		if err == nil {
			return candidate, nil
		}
		if !apierrors.IsAlreadyExists(err) && err.Error() != errIPTaken(candidate).Error() {
			return "", err
		}
	}
	return "", fmt.Errorf("failed to allocate a serviceIP: range is full")
}

func (a *ipAllocator) claim(ctx context.Context, svc *corev1.Service, ip string, dryRun bool) error {
	if dryRun {
		if _, err := a.store().Get(ctx, ip, &metav1.GetOptions{}); err == nil {
			return errIPTaken(ip)
		}
		return nil
	}
	obj := &networkingv1.IPAddress{
		ObjectMeta: metav1.ObjectMeta{Name: ip, Labels: map[string]string{
			"ipaddress.kubernetes.io/ip-family":  "IPv4",
			"ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io",
		}},
		Spec: networkingv1.IPAddressSpec{ParentRef: &networkingv1.ParentReference{
			Resource: "services", Namespace: svc.Namespace, Name: svc.Name}},
	}
	_, err := a.store().Create(ctx, obj, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return errIPTaken(ip)
	}
	return err
}

func (a *ipAllocator) release(ctx context.Context, ip string) error {
	if !a.contains(ip) {
		return nil
	}
	_, _, err := a.store().Delete(ctx, ip, rest.ValidateAllObjectFunc, &metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("releasing service IP %s: %w", ip, err)
	}
	return nil
}

func isKubernetesService(svc *corev1.Service) bool {
	return svc.Namespace == metav1.NamespaceDefault && svc.Name == "kubernetes"
}
