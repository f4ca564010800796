package helper

import (
	"reflect"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestIngressServedBy(t *testing.T) {
	class := func(name, controller string, isDefault bool) *networkingv1.IngressClass {
		c := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.IngressClassSpec{Controller: controller}}
		if isDefault {
			c.Annotations = map[string]string{AnnDefaultIngressClass: "true"}
		}
		return c
	}
	ours, ourDefault, other, otherDefault := class("skiff", IngressController, false), class("skiff", IngressController, true),
		class("nginx", "k8s.io/ingress-nginx", false), class("nginx", "k8s.io/ingress-nginx", true)
	ing := func(field *string, ann string) *networkingv1.Ingress {
		i := &networkingv1.Ingress{Spec: networkingv1.IngressSpec{IngressClassName: field}}
		if ann != "" {
			i.Annotations = map[string]string{AnnIngressClass: ann}
		}
		return i
	}
	for _, tc := range []struct {
		name    string
		ing     *networkingv1.Ingress
		classes []*networkingv1.IngressClass
		want    bool
	}{
		{"field names ours", ing(ptr.To("skiff"), ""), []*networkingv1.IngressClass{ours, other}, true},
		{"field names another", ing(ptr.To("nginx"), ""), []*networkingv1.IngressClass{ours, other}, false},
		{"field names a missing class", ing(ptr.To("gone"), ""), []*networkingv1.IngressClass{ours}, false},
		{"no class, ours is default", ing(nil, ""), []*networkingv1.IngressClass{ourDefault, other}, true},
		{"no class, ours is not default", ing(nil, ""), []*networkingv1.IngressClass{ours, otherDefault}, false},
		{"annotation names ours", ing(nil, "skiff"), []*networkingv1.IngressClass{ours}, true},
		{"annotation names another", ing(nil, "nginx"), []*networkingv1.IngressClass{ourDefault, other}, false},
		{"field wins over annotation", ing(ptr.To("nginx"), "skiff"), []*networkingv1.IngressClass{ours, other}, false},
	} {
		if got := IngressServedBy(tc.ing, tc.classes, IngressController); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestIngressPorts(t *testing.T) {
	v := FormatIngressPorts(map[string]int{"https": 8443, "http": 8080})
	if v != "http=8080,https=8443" {
		t.Fatalf("format: %q", v)
	}
	got, err := ParseIngressPorts(v)
	if err != nil || !reflect.DeepEqual(got, map[string]int{"http": 8080, "https": 8443}) {
		t.Fatalf("parse: %v %v", got, err)
	}
	for _, bad := range []string{"http", "http=x", "http=0", "http=70000"} {
		if _, err := ParseIngressPorts(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
