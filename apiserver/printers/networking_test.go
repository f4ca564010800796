package printers

import (
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestIngressRows(t *testing.T) {
	class := "nginx"
	tests := []struct {
		name string
		ing  networkingv1.Ingress
		want []any
	}{
		{"default backend only", networkingv1.Ingress{ObjectMeta: objMeta("plain", time.Minute)},
			[]any{"plain", "<none>", "*", "", "80", "60s"}},
		{"hosts, TLS and addresses", networkingv1.Ingress{ObjectMeta: objMeta("web", 5*time.Minute),
			Spec: networkingv1.IngressSpec{IngressClassName: &class,
				Rules: []networkingv1.IngressRule{{Host: "a.example.com"}, {}, {Host: "b.example.com"}},
				TLS:   []networkingv1.IngressTLS{{Hosts: []string{"a.example.com"}}}},
			Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{
				{IP: "10.0.0.2"}, {Hostname: "lb.example.com"}, {IP: "10.0.0.1"}}}}},
			[]any{"web", "nginx", "a.example.com,b.example.com", "10.0.0.1,10.0.0.2,lb.example.com", "80, 443", "5m"}},
		{"more than three hosts", networkingv1.Ingress{ObjectMeta: objMeta("many", time.Hour),
			Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "a"}, {Host: "b"}, {Host: "c"}, {Host: "d"}, {Host: "e"}}}},
			[]any{"many", "<none>", "a,b,c + 2 more...", "", "80", "60m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCells(t, rowCells(t, networkingGR("ingresses"), &tt.ing), tt.want)
		})
	}
}

func TestIngressClassAndNetworkPolicyRows(t *testing.T) {
	group := "k8s.example.com"
	ic := networkingv1.IngressClass{ObjectMeta: objMeta("nginx", 2*time.Hour),
		Spec: networkingv1.IngressClassSpec{Controller: "example.com/ingress",
			Parameters: &networkingv1.IngressClassParametersReference{APIGroup: &group, Kind: "Params", Name: "p"}}}
	ic.Annotations = map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}
	checkCells(t, rowCells(t, networkingGR("ingressclasses"), &ic), []any{"nginx (default)", "example.com/ingress", "Params.k8s.example.com/p", "120m"})
	plain := networkingv1.IngressClass{ObjectMeta: objMeta("other", time.Minute), Spec: networkingv1.IngressClassSpec{Controller: "example.com/other"}}
	checkCells(t, rowCells(t, networkingGR("ingressclasses"), &plain), []any{"other", "example.com/other", "<none>", "60s"})

	np := networkingv1.NetworkPolicy{ObjectMeta: objMeta("deny", time.Minute),
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
	checkCells(t, rowCells(t, networkingGR("networkpolicies"), &np), []any{"deny", "app=web", "60s"})
	all := networkingv1.NetworkPolicy{ObjectMeta: objMeta("all", time.Minute)}
	checkCells(t, rowCells(t, networkingGR("networkpolicies"), &all), []any{"all", "<none>", "60s"})
}
