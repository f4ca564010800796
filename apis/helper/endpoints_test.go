package helper

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func TestPodEndpoints(t *testing.T) {
	ep := func(uid, name string, ready, serving, terminating *bool) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: []string{"10.0.0.1"},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Name: name, UID: types.UID(uid)},
			Conditions: discoveryv1.EndpointConditions{Ready: ready, Serving: serving, Terminating: terminating}}
	}
	a := &discoveryv1.EndpointSlice{Endpoints: []discoveryv1.Endpoint{
		ep("u1", "p1", nil, nil, nil),                                // nil conditions: ready and serving
		ep("u2", "p2", ptr.To(false), ptr.To(true), ptr.To(true)),    // terminating, still serving
		{Addresses: []string{"10.0.0.9"}},                            // no targetRef
		{TargetRef: &corev1.ObjectReference{Kind: "Node", UID: "n"}}, // not a pod
	}}
	b := &discoveryv1.EndpointSlice{Endpoints: []discoveryv1.Endpoint{
		ep("u3", "p3", ptr.To(false), ptr.To(false), nil),
		ep("u2", "p2", ptr.To(true), nil, nil), // the same pod in another service's slice
	}}
	got := PodEndpoints(a, nil, b)
	want := map[types.UID]PodEndpoint{
		"u1": {Name: "p1", Ready: true, Serving: true},
		"u2": {Name: "p2", Ready: true, Serving: true, Terminating: true},
		"u3": {Name: "p3"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PodEndpoints = %+v, want %+v", got, want)
	}
}

func TestEndpointChanges(t *testing.T) {
	ready := PodEndpoint{Name: "p", Ready: true, Serving: true}
	notReady := PodEndpoint{Name: "p"}
	terminating := PodEndpoint{Name: "p", Serving: true, Terminating: true}
	for _, tc := range []struct {
		name          string
		before, after map[types.UID]PodEndpoint
		want          []string // "name change"
	}{
		{"nothing", nil, nil, nil},
		{"unchanged", map[types.UID]PodEndpoint{"u": ready}, map[types.UID]PodEndpoint{"u": ready}, nil},
		{"added ready", nil, map[types.UID]PodEndpoint{"u": ready}, []string{"p added (ready)"}},
		{"added not ready", nil, map[types.UID]PodEndpoint{"u": notReady}, []string{"p added (not ready)"}},
		{"became ready", map[types.UID]PodEndpoint{"u": notReady}, map[types.UID]PodEndpoint{"u": ready}, []string{"p ready"}},
		{"became not ready", map[types.UID]PodEndpoint{"u": ready}, map[types.UID]PodEndpoint{"u": notReady}, []string{"p not ready"}},
		{"terminating", map[types.UID]PodEndpoint{"u": {Name: "p", Serving: true}}, map[types.UID]PodEndpoint{"u": terminating}, []string{"p terminating"}},
		{"readiness wins over termination", map[types.UID]PodEndpoint{"u": ready}, map[types.UID]PodEndpoint{"u": terminating}, []string{"p not ready"}},
		{"serving only", map[types.UID]PodEndpoint{"u": {Name: "p", Terminating: true}}, map[types.UID]PodEndpoint{"u": terminating}, []string{"p serving"}},
		{"removed", map[types.UID]PodEndpoint{"u": ready}, nil, []string{"p removed"}},
		{"several, by name", map[types.UID]PodEndpoint{"u1": {Name: "b", Ready: true}, "u2": {Name: "c"}},
			map[types.UID]PodEndpoint{"u2": {Name: "c", Ready: true}, "u3": {Name: "a"}},
			[]string{"a added (not ready)", "b removed", "c ready"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range EndpointChanges(tc.before, tc.after) {
				got = append(got, c.Name+" "+c.Change)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("EndpointChanges = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSummarizeEndpointChanges(t *testing.T) {
	c := func(name, change string) EndpointChange {
		return EndpointChange{UID: types.UID(name), Name: name, Change: change}
	}
	for _, tc := range []struct {
		changes []EndpointChange
		want    string
	}{
		{nil, ""},
		{[]EndpointChange{c("web-1", "ready")}, "web-1 ready"},
		{[]EndpointChange{c("web-1", "ready"), c("web-2", "removed")}, "web-1 ready, web-2 removed"},
		{[]EndpointChange{c("a", "ready"), c("b", "ready"), c("c", "added (ready)"), c("d", "ready"), c("e", "removed")},
			"a ready, b ready, c added (ready), +2 more"},
	} {
		if got := SummarizeEndpointChanges(tc.changes); got != tc.want {
			t.Errorf("SummarizeEndpointChanges(%v) = %q, want %q", tc.changes, got, tc.want)
		}
	}
	if got := ChangedUIDs([]EndpointChange{c("a", "ready"), c("b", "removed")}); !reflect.DeepEqual(got, []types.UID{"a", "b"}) {
		t.Errorf("ChangedUIDs = %v", got)
	}
}
