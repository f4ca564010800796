package admission

import (
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNewestDefaultIngressClass(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	class := func(name string, age time.Duration, def string) *networkingv1.IngressClass {
		ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(t0.Add(-age))}}
		if def != "" {
			ic.Annotations = map[string]string{networkingv1.AnnotationIsDefaultIngressClass: def}
		}
		return ic
	}
	for _, tc := range []struct {
		name    string
		classes []*networkingv1.IngressClass
		want    string
	}{
		{"none", nil, ""},
		{"no default", []*networkingv1.IngressClass{class("a", 0, ""), class("b", 0, "false")}, ""},
		{"one default", []*networkingv1.IngressClass{class("a", 0, ""), class("b", time.Hour, "true")}, "b"},
		{"the newest of several", []*networkingv1.IngressClass{class("old", time.Hour, "true"), class("new", time.Minute, "true")}, "new"},
		{"by name on a tie", []*networkingv1.IngressClass{class("z", time.Minute, "true"), class("m", time.Minute, "true")}, "m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if c := newestDefaultIngressClass(tc.classes); c != nil {
				got = c.Name
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
