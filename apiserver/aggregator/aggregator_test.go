package aggregator

import (
	"fmt"
	"net/http"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"github.com/skiff-dev/skiff/apis"
)

func describe(svc *apiregistrationv1.APIService) string {
	if svc == nil {
		return "none"
	}
	return fmt.Sprintf("%s %d/%d", svc.Name, svc.Spec.GroupPriorityMinimum, svc.Spec.VersionPriority)
}

func TestBuiltinAPIServices(t *testing.T) {
	for _, tc := range []struct {
		name  string
		paths []string
		want  []string
	}{
		{"legacy core", []string{"/api", "/api/v1"}, []string{"v1. 18000/1"}},
		{"groups and versions only", []string{"/apis", "/apis/apps", "/apis/apps/v1", "/healthz", "/openapi/v2"}, []string{"v1.apps 17800/15"}},
		{"apiextensions behind the core server", []string{"/apis/apiextensions.k8s.io/v1"}, []string{"v1.apiextensions.k8s.io 16700/15"}},
		{"unknown group version skipped", []string{"/apis/skiff.test/v1", "/apis/apps/v1beta9"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, svc := range BuiltinAPIServices(tc.paths) {
				got = append(got, describe(svc))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// Every group version Skiff serves has upstream's priority, so each gets its APIService.
func TestPrioritiesCoverServedGroups(t *testing.T) {
	for _, g := range apis.Groups {
		if _, ok := Priorities[g.GroupVersion]; !ok {
			t.Errorf("%s has no priority: it would get no APIService", g.GroupVersion)
		}
	}
}

func TestCRDAPIService(t *testing.T) {
	crd := func(group string, versions ...apiextensionsv1.CustomResourceDefinitionVersion) *apiextensionsv1.CustomResourceDefinition {
		return &apiextensionsv1.CustomResourceDefinition{Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: group, Versions: versions}}
	}
	served := func(name string) apiextensionsv1.CustomResourceDefinitionVersion {
		return apiextensionsv1.CustomResourceDefinitionVersion{Name: name, Served: true}
	}
	notServed := apiextensionsv1.CustomResourceDefinitionVersion{Name: "v1beta1"}
	gv := schema.GroupVersion{Group: "skiff.test", Version: "v1"}
	for _, tc := range []struct {
		name string
		crds []*apiextensionsv1.CustomResourceDefinition
		gv   schema.GroupVersion
		want string
	}{
		{"served", []*apiextensionsv1.CustomResourceDefinition{crd("skiff.test", served("v1"))}, gv, "v1.skiff.test 1000/100"},
		{"no CRD left", nil, gv, "none"},
		{"other group", []*apiextensionsv1.CustomResourceDefinition{crd("other.test", served("v1"))}, gv, "none"},
		{"version not served", []*apiextensionsv1.CustomResourceDefinition{crd("skiff.test", served("v1"), notServed)},
			schema.GroupVersion{Group: "skiff.test", Version: "v1beta1"}, "none"},
		{"another CRD of the group still serves it", []*apiextensionsv1.CustomResourceDefinition{
			crd("skiff.test", notServed), crd("skiff.test", served("v1beta1"))},
			schema.GroupVersion{Group: "skiff.test", Version: "v1beta1"}, "v1beta1.skiff.test 1000/100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := describe(CRDAPIService(tc.crds, tc.gv)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestPendingAPIServices(t *testing.T) {
	svc := func(name string, status apiregistrationv1.ConditionStatus) *apiregistrationv1.APIService {
		s := &apiregistrationv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if status != "" {
			s.Status.Conditions = []apiregistrationv1.APIServiceCondition{{Type: apiregistrationv1.Available, Status: status}}
		}
		return s
	}
	p := newPendingAPIServices([]*apiregistrationv1.APIService{svc("v1.", ""), svc("v1.apps", "")})
	check := func() string {
		if err := p.check(&http.Request{}); err != nil {
			return err.Error()
		}
		return "ok"
	}
	for _, step := range []struct {
		observe *apiregistrationv1.APIService
		want    string
	}{
		{nil, "missing APIService: [v1. v1.apps]"},
		{svc("v1.apps", apiregistrationv1.ConditionFalse), "missing APIService: [v1. v1.apps]"},
		{svc("v1.apps", apiregistrationv1.ConditionTrue), "missing APIService: [v1.]"},
		{svc("v1.other", apiregistrationv1.ConditionTrue), "missing APIService: [v1.]"},
		{svc("v1.", apiregistrationv1.ConditionTrue), "ok"},
		// Once seen Available, an APIService is never pending again.
		{svc("v1.", apiregistrationv1.ConditionFalse), "ok"},
	} {
		if step.observe != nil {
			p.observe(step.observe)
		}
		if got := check(); got != step.want {
			t.Errorf("after %s: %s, want %s", describe(step.observe), got, step.want)
		}
	}
}
