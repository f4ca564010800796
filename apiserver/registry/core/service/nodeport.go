package service

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// needsNodePorts tells whether a service type has NodePorts at all.
func needsNodePorts(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
}

// shouldAllocateNodePorts tells whether ports without a NodePort get one (upstream's rule:
// LoadBalancer services may opt out with allocateLoadBalancerNodePorts=false).
func shouldAllocateNodePorts(svc *corev1.Service) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeLoadBalancer:
		return svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts
	}
	return false
}

// needsHealthCheckNodePort is upstream's needsHCNodePort.
func needsHealthCheckNodePort(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

var serviceGK = corev1.SchemeGroupVersion.WithKind("Service").GroupKind()

// portError turns an allocation failure into upstream's response: 422 on the field for a
// refused requested port, 500 for storage trouble.
func portError(svc *corev1.Service, path *field.Path, port int32, err error, format string) error {
	var notInRange *errPortNotInRange
	if errors.Is(err, errPortAllocated) || errors.As(err, &notInRange) {
		msg := err.Error()
		if format != "" {
			msg = fmt.Sprintf(format, port, err)
		}
		return apierrors.NewInvalid(serviceGK, svc.Name, field.ErrorList{field.Invalid(path, port, msg)})
	}
	return apierrors.NewInternalError(err)
}

// initNodePorts allocates the NodePorts of a new service: requested ones are reserved, the rest
// picked; ports with the same port number (different protocols) share one NodePort, as upstream.
func initNodePorts(ctx context.Context, svc *corev1.Service, op *portOp) error {
	byPort := map[int32]int32{}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		if sp.NodePort == 0 && !shouldAllocateNodePorts(svc) {
			continue
		}
		path := field.NewPath("spec", "ports").Index(i).Child("nodePort")
		shared := byPort[sp.Port]
		switch {
		case shared == 0:
			if np := requestedNodePort(sp.Port, svc.Spec.Ports[i:]); np != 0 {
				if err := op.allocate(ctx, int(np)); err != nil {
					return portError(svc, path, np, err, "")
				}
				sp.NodePort = np
			} else {
				np, err := op.allocateNext(ctx)
				if err != nil {
					return apierrors.NewInternalError(fmt.Errorf("failed to allocate a nodePort: %w", err))
				}
				sp.NodePort = int32(np)
			}
			byPort[sp.Port] = sp.NodePort
		case sp.NodePort == 0:
			sp.NodePort = shared
		case sp.NodePort != shared:
			if err := op.allocate(ctx, int(sp.NodePort)); err != nil {
				return portError(svc, path, sp.NodePort, err, "")
			}
		}
	}
	if needsHealthCheckNodePort(svc) {
		return allocHealthCheckNodePort(ctx, svc, op)
	}
	return nil
}

// requestedNodePort is the first NodePort asked for a port number among ports.
func requestedNodePort(port int32, ports []corev1.ServicePort) int32 {
	for _, p := range ports {
		if p.Port == port && p.NodePort != 0 {
			return p.NodePort
		}
	}
	return 0
}

func allocHealthCheckNodePort(ctx context.Context, svc *corev1.Service, op *portOp) error {
	hc := svc.Spec.HealthCheckNodePort
	if hc != 0 {
		if err := op.allocate(ctx, int(hc)); err != nil {
			return portError(svc, field.NewPath("spec", "healthCheckNodePort"), hc, err, "failed to allocate requested HealthCheck NodePort %v: %v")
		}
		return nil
	}
	np, err := op.allocateNext(ctx)
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("failed to allocate a HealthCheck NodePort %v: %w", hc, err))
	}
	svc.Spec.HealthCheckNodePort = int32(np)
	return nil
}

func serviceNodePorts(svc *corev1.Service) map[int32]bool {
	out := map[int32]bool{}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			out[p.NodePort] = true
		}
	}
	return out
}

// updateNodePorts is upstream's txnUpdateNodePorts: a change away from NodePort/LoadBalancer
// releases every NodePort; otherwise new ones are reserved, missing ones picked and dropped
// ones released, and the health-check port follows externalTrafficPolicy.
func updateNodePorts(ctx context.Context, svc, old *corev1.Service, op *portOp) error {
	if needsNodePorts(old) && !needsNodePorts(svc) {
		for p := range serviceNodePorts(old) {
			op.releaseDeferred(int(p))
		}
	} else if needsNodePorts(svc) {
		oldPorts := serviceNodePorts(old)
		taken := map[int32]bool{}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			if sp.NodePort == 0 && !shouldAllocateNodePorts(svc) {
				continue
			}
			if sp.NodePort != 0 {
				if !oldPorts[sp.NodePort] && !taken[sp.NodePort] {
					if err := op.allocate(ctx, int(sp.NodePort)); err != nil {
						return portError(svc, field.NewPath("spec", "ports").Index(i).Child("nodePort"), sp.NodePort, err, "")
					}
				}
			} else {
				np, err := op.allocateNext(ctx)
				if err != nil {
					return apierrors.NewInternalError(fmt.Errorf("failed to allocate a nodePort: %w", err))
				}
				sp.NodePort = int32(np)
			}
			taken[sp.NodePort] = true
		}
		for p := range oldPorts {
			if !taken[p] {
				op.releaseDeferred(int(p))
			}
		}
	}
	oldHC := needsHealthCheckNodePort(old) && old.Spec.HealthCheckNodePort != 0
	switch {
	case !oldHC && needsHealthCheckNodePort(svc):
		return allocHealthCheckNodePort(ctx, svc, op)
	case oldHC && !needsHealthCheckNodePort(svc):
		op.releaseDeferred(int(old.Spec.HealthCheckNodePort))
	}
	return nil
}

// dropTypeDependentFields clears what a type change leaves behind, when the client did not
// change it itself (upstream's service strategy does this in PrepareForUpdate).
func dropTypeDependentFields(svc, old *corev1.Service) {
	if !needsNodePorts(svc) && sameNodePorts(svc, old) {
		for i := range svc.Spec.Ports {
			svc.Spec.Ports[i].NodePort = 0
		}
	}
	if !needsHealthCheckNodePort(svc) && svc.Spec.HealthCheckNodePort == old.Spec.HealthCheckNodePort {
		svc.Spec.HealthCheckNodePort = 0
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		if ptrEqual(svc.Spec.AllocateLoadBalancerNodePorts, old.Spec.AllocateLoadBalancerNodePorts) {
			svc.Spec.AllocateLoadBalancerNodePorts = nil
		}
		if ptrEqual(svc.Spec.LoadBalancerClass, old.Spec.LoadBalancerClass) {
			svc.Spec.LoadBalancerClass = nil
		}
	}
	externally := svc.Spec.Type == corev1.ServiceTypeLoadBalancer || svc.Spec.Type == corev1.ServiceTypeNodePort ||
		(svc.Spec.Type == corev1.ServiceTypeClusterIP && len(svc.Spec.ExternalIPs) > 0)
	if !externally && svc.Spec.ExternalTrafficPolicy == old.Spec.ExternalTrafficPolicy {
		svc.Spec.ExternalTrafficPolicy = ""
	}
}

// sameNodePorts tells whether svc's ports carry the NodePorts old had (matched by name).
func sameNodePorts(svc, old *corev1.Service) bool {
	byName := map[string]int32{}
	for _, p := range old.Spec.Ports {
		byName[p.Name] = p.NodePort
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 && byName[p.Name] != p.NodePort {
			return false
		}
	}
	return true
}

func ptrEqual[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// keepNodePorts copies NodePorts an update left out from the old object (by port name, never
// twice), and the health-check port, as upstream's patchAllocatedValues.
func keepNodePorts(svc, old *corev1.Service) {
	if needsNodePorts(old) && needsNodePorts(svc) {
		byName := map[string]int32{}
		for _, p := range old.Spec.Ports {
			byName[p.Name] = p.NodePort
		}
		used := serviceNodePorts(svc)
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			if sp.NodePort != 0 {
				continue
			}
			if np := byName[sp.Name]; np != 0 && !used[np] {
				sp.NodePort = np
				used[np] = true
			}
		}
	}
	if needsHealthCheckNodePort(old) && needsHealthCheckNodePort(svc) && svc.Spec.HealthCheckNodePort == 0 {
		svc.Spec.HealthCheckNodePort = old.Spec.HealthCheckNodePort
	}
}
