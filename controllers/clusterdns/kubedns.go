package clusterdns

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/klog/v2"
)

const (
	// ServiceName is upstream's cluster DNS Service in kube-system.
	ServiceName = "kube-dns"
	// ManagedBy marks the EndpointSlices this package keeps (the endpoints controller leaves
	// slices of other managers alone).
	ManagedBy = "clusterdns.skiff.dev"
)

// ServiceIPFor is the kube-dns ClusterIP of a service range: its 10th address, as kubeadm
// picks (10.96.0.10 for 10.96.0.0/12).
func ServiceIPFor(serviceCIDR string) (string, error) {
	_, n, err := net.ParseCIDR(serviceCIDR)
	if err != nil || n.IP.To4() == nil {
		return "", fmt.Errorf("service range %q: need an IPv4 CIDR", serviceCIDR)
	}
	if ones, _ := n.Mask.Size(); ones > 28 {
		return "", fmt.Errorf("service range %q is too small for the DNS address", serviceCIDR)
	}
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, binary.BigEndian.Uint32(n.IP.To4())+10)
	return ip.String(), nil
}

// kubeDNSService is upstream's kube-dns Service (kubeadm's CoreDNS manifest) without a selector:
// this package publishes its endpoints.
func kubeDNSService(ip string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: ServiceName, Namespace: metav1.NamespaceSystem,
			Labels: map[string]string{"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS", "kubernetes.io/cluster-service": "true"}},
		Spec: corev1.ServiceSpec{ClusterIP: ip, Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{
			{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
			{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(53)},
		}},
	}
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

// SliceName is the EndpointSlice of one control-plane member.
func SliceName(member string) string {
	n := strings.Trim(nonName.ReplaceAllString(strings.ToLower(member), "-"), "-")
	if len(n) > 50 {
		n = strings.Trim(n[:50], "-")
	}
	return ServiceName + "-" + n
}

func (s *Server) memberSlice(svc *corev1.Service, port int) *discoveryv1.EndpointSlice {
	ready, tcp, udp := true, corev1.ProtocolTCP, corev1.ProtocolUDP
	dnsName, tcpName, p := "dns", "dns-tcp", int32(port)
	member := s.cfg.MemberName
	if member == "" {
		member = s.cfg.Address
	}
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: SliceName(member), Namespace: metav1.NamespaceSystem,
			Labels: map[string]string{discoveryv1.LabelServiceName: ServiceName, discoveryv1.LabelManagedBy: ManagedBy,
				"kubernetes.io/cluster-service": "true"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID}}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{s.cfg.Address},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &ready, Terminating: new(bool)}}},
		Ports: []discoveryv1.EndpointPort{{Name: &dnsName, Protocol: &udp, Port: &p}, {Name: &tcpName, Protocol: &tcp, Port: &p}},
	}
}

// keepKubeDNS makes sure the kube-dns Service and this member's slice exist until ctx ends,
// then deletes the slice (other members keep theirs).
func (s *Server) keepKubeDNS(ctx context.Context, port int) {
	log := klog.FromContext(ctx)
	var sliceName string
	t := s.cfg.Clock.NewTicker(s.cfg.ResyncPeriod)
	defer t.Stop()
	for {
		name, err := s.ensureKubeDNS(ctx, port)
		if err != nil && ctx.Err() == nil {
			log.Error(err, "Keeping the kube-dns Service failed")
		}
		if name != "" {
			sliceName = name
		}
		select {
		case <-ctx.Done():
			if sliceName != "" {
				dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				err := s.cfg.Client.DiscoveryV1().EndpointSlices(metav1.NamespaceSystem).Delete(dctx, sliceName, metav1.DeleteOptions{})
				cancel()
				if err != nil && !apierrors.IsNotFound(err) {
					log.Error(err, "Deleting the kube-dns EndpointSlice failed", "slice", sliceName)
				}
			}
			return
		case <-t.C():
		}
	}
}

// ensureKubeDNS creates the Service when missing and creates or updates this member's slice.
func (s *Server) ensureKubeDNS(ctx context.Context, port int) (string, error) {
	svcs := s.cfg.Client.CoreV1().Services(metav1.NamespaceSystem)
	svc, err := svcs.Get(ctx, ServiceName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		svc, err = svcs.Create(ctx, kubeDNSService(s.cfg.ServiceIP), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			svc, err = svcs.Get(ctx, ServiceName, metav1.GetOptions{})
		}
	}
	if err != nil {
		return "", fmt.Errorf("kube-dns Service: %w", err)
	}
	want := s.memberSlice(svc, port)
	slices := s.cfg.Client.DiscoveryV1().EndpointSlices(metav1.NamespaceSystem)
	cur, err := slices.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = slices.Create(ctx, want, metav1.CreateOptions{})
	case err == nil:
		if !apiequality.Semantic.DeepEqual(cur.Endpoints, want.Endpoints) || !apiequality.Semantic.DeepEqual(cur.Ports, want.Ports) ||
			!apiequality.Semantic.DeepEqual(cur.OwnerReferences, want.OwnerReferences) || cur.Labels[discoveryv1.LabelManagedBy] != ManagedBy {
			cur.Endpoints, cur.Ports, cur.OwnerReferences, cur.Labels = want.Endpoints, want.Ports, want.OwnerReferences, want.Labels
			_, err = slices.Update(ctx, cur, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return want.Name, fmt.Errorf("kube-dns EndpointSlice %s: %w", want.Name, err)
	}
	return want.Name, nil
}
