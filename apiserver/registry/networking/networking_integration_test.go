package networking_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/test/poll"
)

// expectInvalid checks a 422 whose causes name exactly the given field paths.
func expectInvalid(t *testing.T, err error, fields ...string) {
	t.Helper()
	if !apierrors.IsInvalid(err) {
		t.Fatalf("want 422 Invalid, got %v", err)
	}
	var got []string
	for _, c := range err.(apierrors.APIStatus).Status().Details.Causes {
		got = append(got, c.Field)
	}
	if strings.Join(got, ",") != strings.Join(fields, ",") {
		t.Errorf("causes %q, want %q (%v)", got, fields, err)
	}
}

// tableRows returns the server's Table of a resource as kubectl gets it: the column names and
// each row's cells as strings.
func tableRows(t *testing.T, c kubernetes.Interface, resource, ns string) (columns []string, rows []string) {
	t.Helper()
	tbl := &metav1.Table{}
	req := c.NetworkingV1().RESTClient().Get().Resource(resource)
	if ns != "" {
		req = req.Namespace(ns)
	}
	if err := req.SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(context.Background()).Into(tbl); err != nil {
		t.Fatalf("table of %s: %v", resource, err)
	}
	for _, d := range tbl.ColumnDefinitions {
		columns = append(columns, strings.ToUpper(d.Name))
	}
	for _, r := range tbl.Rows {
		cells := make([]string, 0, len(r.Cells)-1)
		for _, cell := range r.Cells[:len(r.Cells)-1] { // all but AGE
			cells = append(cells, fmt.Sprint(cell))
		}
		rows = append(rows, strings.Join(cells, " | "))
	}
	return columns, rows
}

func TestNetworkingAPI(t *testing.T) {
	// Without the built-in class: the test makes its own default class "skiff".
	s := apiservertest.StartWith(t, func(o *apiserver.Options) { o.DisableIngress = true })
	c := s.Client
	ctx := context.Background()
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "web"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("discovery", func(t *testing.T) {
		resources, err := c.Discovery().ServerResourcesForGroupVersion("networking.k8s.io/v1")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range resources.APIResources {
			got[r.Name] = fmt.Sprintf("%v %v", r.Namespaced, r.ShortNames)
		}
		for name, want := range map[string]string{"ingresses": "true [ing]", "ingresses/status": "true []", "ingressclasses": "false []",
			"networkpolicies": "true [netpol]"} {
			if got[name] != want {
				t.Errorf("%s: %q, want %q", name, got[name], want)
			}
		}
	})

	t.Run("IngressClass: defaults, 422, table", func(t *testing.T) {
		ic, err := c.NetworkingV1().IngressClasses().Create(ctx, &networkingv1.IngressClass{
			ObjectMeta: metav1.ObjectMeta{Name: "skiff", Annotations: map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}},
			Spec: networkingv1.IngressClassSpec{Controller: "skiff.dev/ingress",
				Parameters: &networkingv1.IngressClassParametersReference{APIGroup: ptr.To("skiff.dev"), Kind: "IngressParameters", Name: "default"}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ic.Spec.Parameters.Scope == nil || *ic.Spec.Parameters.Scope != networkingv1.IngressClassParametersReferenceScopeCluster || ic.Generation != 1 {
			t.Errorf("scope %v, generation %d", ic.Spec.Parameters.Scope, ic.Generation)
		}
		_, err = c.NetworkingV1().IngressClasses().Create(ctx, &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "bad"},
			Spec: networkingv1.IngressClassSpec{Controller: "nginx", Parameters: &networkingv1.IngressClassParametersReference{Kind: "P", Name: "p",
				Scope: ptr.To("Namespace")}}}, metav1.CreateOptions{})
		expectInvalid(t, err, "spec.controller", "spec.parameters.namespace")
		cols, rows := tableRows(t, c, "ingressclasses", "")
		if strings.Join(cols, " ") != "NAME CONTROLLER PARAMETERS AGE" || len(rows) != 1 ||
			rows[0] != "skiff (default) | skiff.dev/ingress | IngressParameters.skiff.dev/default" {
			t.Errorf("table %q %q", cols, rows)
		}
	})

	t.Run("Ingress: the default class, status, 422, table", func(t *testing.T) {
		backend := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}
		ing, err := c.NetworkingV1().Ingresses("web").Create(ctx, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: networkingv1.IngressSpec{
				Rules: []networkingv1.IngressRule{{Host: "web.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix), Backend: backend}}}}}},
				TLS: []networkingv1.IngressTLS{{Hosts: []string{"web.example.com"}, SecretName: "web-tls"}},
			}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "skiff" || ing.Generation != 1 {
			t.Errorf("class %v, generation %d", ing.Spec.IngressClassName, ing.Generation)
		}
		// The deprecated annotation names a class too: no default then.
		legacy, err := c.NetworkingV1().Ingresses("web").Create(ctx, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "legacy",
			Annotations: map[string]string{"kubernetes.io/ingress.class": "nginx"}}, Spec: networkingv1.IngressSpec{DefaultBackend: &backend}}, metav1.CreateOptions{})
		if err != nil || legacy.Spec.IngressClassName != nil {
			t.Errorf("legacy: %v, %v", legacy.Spec.IngressClassName, err)
		}

		ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.10"}}
		if ing, err = c.NetworkingV1().Ingresses("web").UpdateStatus(ctx, ing, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{Hostname: "192.0.2.11"}}
		_, err = c.NetworkingV1().Ingresses("web").UpdateStatus(ctx, ing, metav1.UpdateOptions{})
		expectInvalid(t, err, "status.loadBalancer.ingress[0].hostname")

		_, err = c.NetworkingV1().Ingresses("web").Create(ctx, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "bad"},
			Spec: networkingv1.IngressSpec{IngressClassName: ptr.To("Not_A_Class"),
				Rules: []networkingv1.IngressRule{{Host: "*.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{
						{Path: "api", PathType: ptr.To(networkingv1.PathTypeExact), Backend: backend},
						{Path: "/x", Backend: backend},
						{Path: "/y", PathType: ptr.To(networkingv1.PathTypePrefix)},
					}}}}}}}, metav1.CreateOptions{})
		expectInvalid(t, err, "spec.rules[0].http.paths[0].path", "spec.rules[0].http.paths[1].pathType",
			"spec.rules[0].http.paths[2].backend", "spec.ingressClassName")

		cols, rows := tableRows(t, c, "ingresses", "web")
		if strings.Join(cols, " ") != "NAME CLASS HOSTS ADDRESS PORTS AGE" || len(rows) != 2 ||
			rows[0] != "legacy | <none> | * |  | 80" || rows[1] != "web | skiff | web.example.com | 192.0.2.10 | 80, 443" {
			t.Errorf("table %q %q", cols, rows)
		}
	})

	t.Run("NetworkPolicy: defaults, 422, table", func(t *testing.T) {
		np, err := c.NetworkingV1().NetworkPolicies("web").Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "db"},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
				Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(5432))}},
					From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}}},
				Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}}}}},
			}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.NetworkingV1().NetworkPolicies("web").Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got.Spec.PolicyTypes) != "[Ingress Egress]" || *got.Spec.Ingress[0].Ports[0].Protocol != corev1.ProtocolTCP || np.Generation != 1 {
			t.Errorf("policyTypes %v, protocol %v, generation %d", got.Spec.PolicyTypes, *got.Spec.Ingress[0].Ports[0].Protocol, np.Generation)
		}
		_, err = c.NetworkingV1().NetworkPolicies("web").Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bad"},
			Spec: networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{
				Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(90)), EndPort: ptr.To[int32](80)}},
				To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"192.168.0.0/16"}}}}}}}},
			metav1.CreateOptions{})
		expectInvalid(t, err, "spec.egress[0].ports[0].endPort", "spec.egress[0].to[0].ipBlock.except[0]")
		cols, rows := tableRows(t, c, "networkpolicies", "web")
		if strings.Join(cols, " ") != "NAME POD-SELECTOR AGE" || len(rows) != 1 || rows[0] != "db | app=db" {
			t.Errorf("table %q %q", cols, rows)
		}
	})
}

// The API server creates the default IngressClass skiff, served by the node agents, which a new
// Ingress without a class gets.
func TestDefaultIngressClass(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	poll.Eventually(t, "the built-in IngressClass", func() error {
		ic, err := s.Client.NetworkingV1().IngressClasses().Get(ctx, helper.IngressClassName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if ic.Spec.Controller != helper.IngressController || ic.Annotations[networkingv1.AnnotationIsDefaultIngressClass] != "true" {
			return fmt.Errorf("class %+v", ic)
		}
		return nil
	})
	ing, err := s.Client.NetworkingV1().Ingresses("default").Create(ctx, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
			Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != helper.IngressClassName {
		t.Errorf("class %v, want %s", ing.Spec.IngressClassName, helper.IngressClassName)
	}
}
