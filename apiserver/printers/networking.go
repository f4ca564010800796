package printers

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
)

func networkingGR(resource string) schema.GroupResource {
	return schema.GroupResource{Group: networkingv1.GroupName, Resource: resource}
}

func init() {
	register(networkingGR("ingresses"),
		newConvertor(ingressColumns, func(l *networkingv1.IngressList) []networkingv1.Ingress { return l.Items }, printIngress))
	register(networkingGR("ingressclasses"),
		newConvertor(ingressClassColumns, func(l *networkingv1.IngressClassList) []networkingv1.IngressClass { return l.Items }, printIngressClass))
	register(networkingGR("networkpolicies"),
		newConvertor(networkPolicyColumns, func(l *networkingv1.NetworkPolicyList) []networkingv1.NetworkPolicy { return l.Items }, printNetworkPolicy))
}

var ingressColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Class", Type: "string", Description: "The name of the IngressClass resource that should be used for additional configuration"},
	{Name: "Hosts", Type: "string", Description: "Hosts that incoming requests are matched against before the ingress rule"},
	{Name: "Address", Type: "string", Description: "Address is a list containing ingress points for the load-balancer"},
	{Name: "Ports", Type: "string", Description: "Ports of TLS configurations that open"},
	ageColumn,
}

func printIngress(ing *networkingv1.Ingress) metav1.TableRow {
	class := "<none>"
	if ing.Spec.IngressClassName != nil {
		class = *ing.Spec.IngressClassName
	}
	ports := "80"
	if len(ing.Spec.TLS) != 0 {
		ports = "80, 443"
	}
	// The server always prints wide, so the address is never clipped here.
	address := sets.New[string]()
	for _, in := range ing.Status.LoadBalancer.Ingress {
		if in.IP != "" {
			address.Insert(in.IP)
		} else if in.Hostname != "" {
			address.Insert(in.Hostname)
		}
	}
	return cells(ing.Name, class, formatIngressHosts(ing.Spec.Rules), strings.Join(sets.List(address), ","), ports,
		translateTimestampSince(ing.CreationTimestamp))
}

// formatIngressHosts lists the first three rules' hosts ("*" when none has one), as kubectl.
func formatIngressHosts(rules []networkingv1.IngressRule) string {
	const max = 3
	var list []string
	more := false
	for _, r := range rules {
		if len(list) == max {
			more = true
		}
		if !more && r.Host != "" {
			list = append(list, r.Host)
		}
	}
	if len(list) == 0 {
		return "*"
	}
	ret := strings.Join(list, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", ret, len(rules)-max)
	}
	return ret
}

var ingressClassColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Controller", Type: "string", Description: "Controller that is responsible for handling this class"},
	{Name: "Parameters", Type: "string", Description: "A reference to a resource with additional parameters"},
	ageColumn,
}

func printIngressClass(ic *networkingv1.IngressClass) metav1.TableRow {
	name := ic.Name
	if ic.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true" {
		name += " (default)"
	}
	params := "<none>"
	if p := ic.Spec.Parameters; p != nil {
		params = p.Kind
		if p.APIGroup != nil {
			params += "." + *p.APIGroup
		}
		params += "/" + p.Name
	}
	return cells(name, ic.Spec.Controller, params, translateTimestampSince(ic.CreationTimestamp))
}

var networkPolicyColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Pod-Selector", Type: "string", Description: networkingv1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]},
	ageColumn,
}

func printNetworkPolicy(np *networkingv1.NetworkPolicy) metav1.TableRow {
	return cells(np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector), translateTimestampSince(np.CreationTimestamp))
}
