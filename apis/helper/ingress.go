package helper

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Skiff's built-in ingress controller (nodeagent/ingress) and its IngressClass.
const (
	// IngressController is the spec.controller of the IngressClasses Skiff's node agents serve.
	IngressController = "skiff.dev/ingress-controller"
	// IngressClassName is the built-in IngressClass the API server creates at start (the default).
	IngressClassName = "skiff"
	// AnnDefaultIngressClass marks the default IngressClass (upstream's
	// networkingv1.AnnotationIsDefaultIngressClass).
	AnnDefaultIngressClass = networkingv1.AnnotationIsDefaultIngressClass
	// AnnIngressClass is the deprecated annotation that names an Ingress's class.
	AnnIngressClass = "kubernetes.io/ingress.class"
	// AnnIngressPorts is set by a node's ingress controller on its own Node: the ports it serves
	// Ingresses on, "http=80,https=443". Nodes with it are the Ingresses' load balancer.
	AnnIngressPorts = "skiff.dev/ingress-ports"
)

// IngressClassOf is the name of the class an Ingress asks for: spec.ingressClassName, else the
// deprecated kubernetes.io/ingress.class annotation, else "" (the default class).
func IngressClassOf(ing *networkingv1.Ingress) string {
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName
	}
	return ing.Annotations[AnnIngressClass]
}

// IsDefaultIngressClass tells whether c is annotated as the default class.
func IsDefaultIngressClass(c *networkingv1.IngressClass) bool {
	return c.Annotations[AnnDefaultIngressClass] == "true"
}

// IngressServedBy tells whether the ingress controller named controller serves ing, as upstream
// controllers decide: ing's class (field or deprecated annotation) is an IngressClass of that
// controller, or ing names no class and a default class is that controller's.
func IngressServedBy(ing *networkingv1.Ingress, classes []*networkingv1.IngressClass, controller string) bool {
	name := IngressClassOf(ing)
	for _, c := range classes {
		if c.Spec.Controller != controller {
			continue
		}
		if (name == "" && IsDefaultIngressClass(c)) || (name != "" && c.Name == name) {
			return true
		}
	}
	return false
}

// FormatIngressPorts is the value of AnnIngressPorts for the given ports by scheme ("http",
// "https"); schemes without a port are left out.
func FormatIngressPorts(ports map[string]int) string {
	schemes := make([]string, 0, len(ports))
	for s := range ports {
		schemes = append(schemes, s)
	}
	sort.Strings(schemes)
	parts := make([]string, 0, len(schemes))
	for _, s := range schemes {
		parts = append(parts, s+"="+strconv.Itoa(ports[s]))
	}
	return strings.Join(parts, ",")
}

// ParseIngressPorts reads a value of AnnIngressPorts.
func ParseIngressPorts(v string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		scheme, port, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(port)
		if !ok || err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("%s: %q is not scheme=port", AnnIngressPorts, part)
		}
		out[scheme] = n
	}
	return out, nil
}

// NodeReady tells whether the node's Ready condition is True.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// NodeInternalIPs are the distinct InternalIP addresses of the nodes, sorted.
func NodeInternalIPs(nodes []*corev1.Node) []string {
	seen := map[string]bool{}
	var ips []string
	for _, n := range nodes {
		for _, a := range n.Status.Addresses {
			if a.Type != corev1.NodeInternalIP || net.ParseIP(a.Address) == nil || seen[a.Address] {
				continue
			}
			seen[a.Address] = true
			ips = append(ips, a.Address)
		}
	}
	sort.Strings(ips)
	return ips
}
