package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func serviceBackend(name string, port int32) networkingv1.IngressBackend {
	return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: port}}}
}

func TestIngress(t *testing.T) {
	ingress := func(mutate func(*networkingv1.Ingress)) *networkingv1.Ingress {
		ing := &networkingv1.Ingress{ObjectMeta: objMeta("web"), Spec: networkingv1.IngressSpec{
			Rules: []networkingv1.IngressRule{{Host: "web.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr(networkingv1.PathTypePrefix), Backend: serviceBackend("web", 80)}}}}}},
			TLS: []networkingv1.IngressTLS{{Hosts: []string{"*.example.com"}, SecretName: "web-tls"}},
		}}
		mutate(ing)
		return defaulted(ing)
	}
	path := func(ing *networkingv1.Ingress) *networkingv1.HTTPIngressPath { return &ing.Spec.Rules[0].HTTP.Paths[0] }
	const p0 = "spec.rules[0].http.paths[0]"
	for _, tc := range []struct {
		name string
		obj  *networkingv1.Ingress
		want []want
	}{
		{"valid", ingress(func(*networkingv1.Ingress) {}), nil},
		{"default backend alone, by port name", ingress(func(ing *networkingv1.Ingress) {
			ing.Spec.Rules, ing.Spec.TLS = nil, nil
			ing.Spec.DefaultBackend = &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Name: "http"}}}
		}), nil},
		{"neither rules nor default backend", ingress(func(ing *networkingv1.Ingress) { ing.Spec.Rules = nil }),
			[]want{{"spec", field.ErrorTypeInvalid, "either `defaultBackend` or `rules` must be specified"}}},
		{"wildcard host and implementation-specific empty path", ingress(func(ing *networkingv1.Ingress) {
			ing.Spec.Rules[0].Host = "*.example.com"
			path(ing).Path, path(ing).PathType = "", ptr(networkingv1.PathTypeImplementationSpecific)
		}), nil},
		{"bad hosts", ingress(func(ing *networkingv1.Ingress) {
			ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: "10.0.0.1"}, networkingv1.IngressRule{Host: "a.*.com"}, networkingv1.IngressRule{Host: "Web"})
			ing.Spec.TLS[0].Hosts = []string{"bad_host"}
		}), []want{{"spec.rules[1].host", field.ErrorTypeInvalid, "must be a DNS name, not an IP address"},
			{"spec.rules[2].host", field.ErrorTypeInvalid, "wildcard"},
			{"spec.rules[3].host", field.ErrorTypeInvalid, "lowercase RFC 1123 subdomain"},
			{"spec.tls[0].hosts[0]", field.ErrorTypeInvalid, "lowercase RFC 1123 subdomain"}}},
		{"pathType required", ingress(func(ing *networkingv1.Ingress) { path(ing).PathType = nil }),
			[]want{{p0 + ".pathType", field.ErrorTypeRequired, "pathType must be specified"}}},
		{"unknown pathType", ingress(func(ing *networkingv1.Ingress) { path(ing).PathType = ptr(networkingv1.PathType("Regex")) }),
			[]want{{p0 + ".pathType", field.ErrorTypeNotSupported, `"Exact", "ImplementationSpecific", "Prefix"`}}},
		{"Exact path must be absolute and clean", ingress(func(ing *networkingv1.Ingress) {
			path(ing).Path, path(ing).PathType = "api//v1/..", ptr(networkingv1.PathTypeExact)
		}), []want{{p0 + ".path", field.ErrorTypeInvalid, "must be an absolute path"},
			{p0 + ".path", field.ErrorTypeInvalid, "must not contain '//'"},
			{p0 + ".path", field.ErrorTypeInvalid, "cannot end with '/..'"}}},
		{"implementation-specific relative path", ingress(func(ing *networkingv1.Ingress) {
			path(ing).Path, path(ing).PathType = "api", ptr(networkingv1.PathTypeImplementationSpecific)
		}), []want{{p0 + ".path", field.ErrorTypeInvalid, "must be an absolute path"}}},
		{"no backend", ingress(func(ing *networkingv1.Ingress) { path(ing).Backend = networkingv1.IngressBackend{} }),
			[]want{{p0 + ".backend", field.ErrorTypeInvalid, "resource or service backend is required"}}},
		{"both backends", ingress(func(ing *networkingv1.Ingress) {
			path(ing).Backend.Resource = &corev1.TypedLocalObjectReference{Kind: "Bucket", Name: "b"}
		}), []want{{p0 + ".backend", field.ErrorTypeInvalid, "cannot set both resource and service backends"}}},
		{"resource backend without kind", ingress(func(ing *networkingv1.Ingress) {
			path(ing).Backend = networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{APIGroup: ptr("Example.com"), Name: "b"}}
		}), []want{{p0 + ".backend.resource.apiGroup", field.ErrorTypeInvalid, ""}, {p0 + ".backend.resource.kind", field.ErrorTypeRequired, ""}}},
		{"service port: both, neither, out of range", ingress(func(ing *networkingv1.Ingress) {
			hp := ing.Spec.Rules[0].HTTP
			hp.Paths[0].Backend.Service.Port.Name = "http"
			hp.Paths = append(hp.Paths,
				networkingv1.HTTPIngressPath{Path: "/a", PathType: ptr(networkingv1.PathTypePrefix), Backend: serviceBackend("web", 0)},
				networkingv1.HTTPIngressPath{Path: "/b", PathType: ptr(networkingv1.PathTypePrefix), Backend: serviceBackend("", 70000)})
		}), []want{{p0 + ".backend", field.ErrorTypeInvalid, "cannot set both port name & port number"},
			{"spec.rules[0].http.paths[1].backend", field.ErrorTypeRequired, "port name or number is required"},
			{"spec.rules[0].http.paths[2].backend.service.name", field.ErrorTypeRequired, ""},
			{"spec.rules[0].http.paths[2].backend.service.port.number", field.ErrorTypeInvalid, "between 1 and 65535"}}},
		{"no paths", ingress(func(ing *networkingv1.Ingress) { ing.Spec.Rules[0].HTTP.Paths = nil }),
			[]want{{"spec.rules[0].http.paths", field.ErrorTypeRequired, ""}}},
		{"bad class name and TLS secret", ingress(func(ing *networkingv1.Ingress) {
			ing.Spec.IngressClassName = ptr("Nginx")
			ing.Spec.TLS[0].SecretName = "Web_TLS"
		}), []want{{"spec.ingressClassName", field.ErrorTypeInvalid, ""}, {"spec.tls[0].secretName", field.ErrorTypeInvalid, ""}}},
		{"class annotation must match ingressClassName", ingress(func(ing *networkingv1.Ingress) {
			ing.Spec.IngressClassName = ptr("nginx")
			ing.Annotations = map[string]string{"kubernetes.io/ingress.class": "traefik"}
		}), []want{{"annotations.kubernetes.io/ingress.class", field.ErrorTypeInvalid, "must match `ingressClassName` when both are specified"}}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, ValidateCreate(tc.obj), tc.want) })
	}

	t.Run("status: addresses", func(t *testing.T) {
		old := ingress(func(*networkingv1.Ingress) {})
		ing := old.DeepCopy()
		ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "10.0.0.300"}, {Hostname: "10.0.0.1"}, {IP: "10.0.0.2", Hostname: "lb.example.com"}}
		checkErrs(t, ValidateStatusUpdate(ing, old), []want{{"status.loadBalancer.ingress[0].ip", field.ErrorTypeInvalid, ""},
			{"status.loadBalancer.ingress[1].hostname", field.ErrorTypeInvalid, "must be a DNS name, not an IP address"}})
	})
	t.Run("update keeps a stored invalid secret name", func(t *testing.T) {
		old := ingress(func(ing *networkingv1.Ingress) { ing.Spec.TLS[0].SecretName = "Web_TLS" })
		ing := old.DeepCopy()
		ing.Labels = map[string]string{"a": "b"}
		checkErrs(t, ValidateUpdate(ing, old), nil)
	})
}

func TestIngressClass(t *testing.T) {
	class := func(mutate func(*networkingv1.IngressClass)) *networkingv1.IngressClass {
		ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx", ResourceVersion: "1"},
			Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}}
		mutate(ic)
		return defaulted(ic)
	}
	params := func(scope string, ns *string) func(*networkingv1.IngressClass) {
		return func(ic *networkingv1.IngressClass) {
			ic.Spec.Parameters = &networkingv1.IngressClassParametersReference{APIGroup: ptr("k8s.example.com"), Kind: "Params", Name: "p", Namespace: ns}
			if scope != "" {
				ic.Spec.Parameters.Scope = ptr(scope)
			}
		}
	}
	for _, tc := range []struct {
		name string
		obj  *networkingv1.IngressClass
		want []want
	}{
		{"valid", class(func(*networkingv1.IngressClass) {}), nil},
		{"parameters default to Cluster scope", class(params("", nil)), nil},
		{"Namespace scope with a namespace", class(params("Namespace", ptr("infra"))), nil},
		{"controller not a domain-prefixed path", class(func(ic *networkingv1.IngressClass) { ic.Spec.Controller = "nginx" }),
			[]want{{"spec.controller", field.ErrorTypeInvalid, ""}}},
		{"no controller", class(func(ic *networkingv1.IngressClass) { ic.Spec.Controller = "" }),
			[]want{{"spec.controller", field.ErrorTypeRequired, ""}}},
		{"Namespace scope without a namespace", class(params("Namespace", nil)),
			[]want{{"spec.parameters.namespace", field.ErrorTypeRequired, "`parameters.scope` is set to 'Namespace'"}}},
		{"Cluster scope with a namespace", class(params("Cluster", ptr("infra"))),
			[]want{{"spec.parameters.namespace", field.ErrorTypeForbidden, "`parameters.scope` is set to 'Cluster'"}}},
		{"unknown scope", class(params("Global", nil)),
			[]want{{"spec.parameters.scope", field.ErrorTypeNotSupported, `"Cluster", "Namespace"`}}},
		{"parameters without kind and name", class(func(ic *networkingv1.IngressClass) {
			ic.Spec.Parameters = &networkingv1.IngressClassParametersReference{Scope: ptr("Cluster")}
		}), []want{{"spec.parameters.kind", field.ErrorTypeRequired, ""}, {"spec.parameters.name", field.ErrorTypeRequired, ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, ValidateCreate(tc.obj), tc.want) })
	}
	t.Run("controller is immutable", func(t *testing.T) {
		old := class(func(*networkingv1.IngressClass) {})
		ic := old.DeepCopy()
		ic.Spec.Controller = "example.com/other"
		checkErrs(t, ValidateUpdate(ic, old), []want{{"spec.controller", field.ErrorTypeInvalid, "field is immutable"}})
	})
}

func TestNetworkPolicy(t *testing.T) {
	policy := func(mutate func(*networkingv1.NetworkPolicy)) *networkingv1.NetworkPolicy {
		np := &networkingv1.NetworkPolicy{ObjectMeta: objMeta("allow"), Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: ptr(intstr.FromInt32(5432))}},
			}},
		}}
		mutate(np)
		return defaulted(np)
	}
	t.Run("defaults", func(t *testing.T) {
		np := policy(func(*networkingv1.NetworkPolicy) {})
		if got := np.Spec.PolicyTypes; len(got) != 1 || got[0] != networkingv1.PolicyTypeIngress {
			t.Errorf("policyTypes %v, want [Ingress]", got)
		}
		if p := np.Spec.Ingress[0].Ports[0].Protocol; p == nil || *p != corev1.ProtocolTCP {
			t.Errorf("protocol %v, want TCP", p)
		}
		eg := policy(func(np *networkingv1.NetworkPolicy) { np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{}} })
		if got := eg.Spec.PolicyTypes; len(got) != 2 || got[1] != networkingv1.PolicyTypeEgress {
			t.Errorf("policyTypes %v, want [Ingress Egress]", got)
		}
	})
	for _, tc := range []struct {
		name string
		obj  *networkingv1.NetworkPolicy
		want []want
	}{
		{"valid", policy(func(*networkingv1.NetworkPolicy) {}), nil},
		{"ipBlock with except", policy(func(np *networkingv1.NetworkPolicy) {
			np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}}}}}
		}), nil},
		{"bad ipBlock", policy(func(np *networkingv1.NetworkPolicy) {
			np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{
				{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"192.168.0.0/16", "10.0.0.0/8"}}},
				{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/33"}},
				{IPBlock: &networkingv1.IPBlock{}, PodSelector: &metav1.LabelSelector{}},
			}}}
		}), []want{{"spec.egress[0].to[0].ipBlock.except[0]", field.ErrorTypeInvalid, "must be a strict subset of `cidr`"},
			{"spec.egress[0].to[0].ipBlock.except[1]", field.ErrorTypeInvalid, "must be a strict subset of `cidr`"},
			{"spec.egress[0].to[1].ipBlock.cidr", field.ErrorTypeInvalid, ""},
			{"spec.egress[0].to[2].ipBlock.cidr", field.ErrorTypeRequired, ""},
			{"spec.egress[0].to[2]", field.ErrorTypeForbidden, "may not specify both ipBlock and another peer"}}},
		{"empty peer", policy(func(np *networkingv1.NetworkPolicy) { np.Spec.Ingress[0].From[0] = networkingv1.NetworkPolicyPeer{} }),
			[]want{{"spec.ingress[0].from[0]", field.ErrorTypeRequired, "must specify a peer"}}},
		{"bad ports", policy(func(np *networkingv1.NetworkPolicy) {
			np.Spec.Ingress[0].Ports = []networkingv1.NetworkPolicyPort{
				{Protocol: ptr(corev1.Protocol("ICMP")), Port: ptr(intstr.FromInt32(0))},
				{Port: ptr(intstr.FromInt32(2000)), EndPort: ptr[int32](1000)},
				{Port: ptr(intstr.FromString("http")), EndPort: ptr[int32](1000)},
				{EndPort: ptr[int32](1000)},
				{Port: ptr(intstr.FromString("Not_A_Name"))},
			}
		}), []want{{"spec.ingress[0].ports[0].protocol", field.ErrorTypeNotSupported, `"TCP", "UDP", "SCTP"`},
			{"spec.ingress[0].ports[0].port", field.ErrorTypeInvalid, "between 1 and 65535"},
			{"spec.ingress[0].ports[1].endPort", field.ErrorTypeInvalid, "must be greater than or equal to `port`"},
			{"spec.ingress[0].ports[2].endPort", field.ErrorTypeInvalid, "may not be specified when `port` is non-numeric"},
			{"spec.ingress[0].ports[3].endPort", field.ErrorTypeInvalid, "may not be specified when `port` is not specified"},
			{"spec.ingress[0].ports[4].port", field.ErrorTypeInvalid, ""}}},
		{"bad policy types and selector", policy(func(np *networkingv1.NetworkPolicy) {
			np.Spec.PolicyTypes = []networkingv1.PolicyType{"Ingress", "Sideways"}
			np.Spec.PodSelector.MatchLabels = map[string]string{"app": "no way"}
		}), []want{{"spec.policyTypes[1]", field.ErrorTypeNotSupported, `"Ingress", "Egress"`},
			{"spec.podSelector.matchLabels", field.ErrorTypeInvalid, ""}}},
		{"three policy types", policy(func(np *networkingv1.NetworkPolicy) {
			np.Spec.PolicyTypes = []networkingv1.PolicyType{"Ingress", "Egress", "Ingress"}
		}), []want{{"spec.policyTypes", field.ErrorTypeInvalid, "may not specify more than two policyTypes"}}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, ValidateCreate(tc.obj), tc.want) })
	}
	t.Run("update keeps a stored invalid CIDR", func(t *testing.T) {
		old := policy(func(np *networkingv1.NetworkPolicy) {
			np.Spec.Ingress[0].From = []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "010.0.0.0/8"}}}
		})
		checkErrs(t, ValidateCreate(old), []want{{"spec.ingress[0].from[0].ipBlock.cidr", field.ErrorTypeInvalid, ""}})
		np := old.DeepCopy()
		np.Labels = map[string]string{"a": "b"}
		checkErrs(t, ValidateUpdate(np, old), nil)
	})
}
