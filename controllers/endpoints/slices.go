package endpoints

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// SlicePlan is what it takes to make a Service's slices of one address type match.
type SlicePlan struct {
	Create, Update, Delete []*discoveryv1.EndpointSlice
}

func endpointID(e discoveryv1.Endpoint) string {
	id := ""
	if len(e.Addresses) > 0 {
		id = e.Addresses[0]
	}
	if e.TargetRef != nil {
		id += "/" + string(e.TargetRef.UID)
	}
	return id
}

// SliceLabels are the Service's labels plus the slice controller's own.
func SliceLabels(svc *corev1.Service) map[string]string {
	l := EndpointsLabels(svc)
	l[LabelServiceName] = svc.Name
	l[LabelManagedBy] = ManagedByValue
	return l
}

// newSlice is an empty slice for svc with generateName "<svc>-" and a controller reference.
func newSlice(svc *corev1.Service, at discoveryv1.AddressType, ports []discoveryv1.EndpointPort) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: svc.Name + "-",
			Namespace:    svc.Namespace,
			Labels:       SliceLabels(svc),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(svc,
				corev1.SchemeGroupVersion.WithKind("Service"))},
		},
		AddressType: at,
		Ports:       ports,
		Endpoints:   []discoveryv1.Endpoint{},
	}
}

// PlanSlices distributes the desired endpoints over the existing slices (same address type,
// managed for svc), keeping endpoints where they are, filling slices up to maxPer, creating
// slices for the rest and deleting slices left empty. A Service with no endpoints keeps one
// empty placeholder slice, as upstream.
func PlanSlices(svc *corev1.Service, at discoveryv1.AddressType, existing []*discoveryv1.EndpointSlice, desired []SliceEndpoint, maxPer int) SlicePlan {
	if maxPer <= 0 {
		maxPer = MaxEndpointsPerSlice
	}
	type group struct {
		ports  []discoveryv1.EndpointPort
		order  []string
		want   map[string]discoveryv1.Endpoint
		placed map[string]bool
	}
	groups := map[string]*group{}
	var keys []string
	for _, d := range desired {
		k := d.PortsKey()
		g, ok := groups[k]
		if !ok {
			g = &group{ports: d.Ports, want: map[string]discoveryv1.Endpoint{}, placed: map[string]bool{}}
			groups[k] = g
			keys = append(keys, k)
		}
		id := endpointID(d.Endpoint)
		if _, dup := g.want[id]; !dup {
			g.order = append(g.order, id)
		}
		g.want[id] = d.Endpoint
	}
	sort.Strings(keys)

	sorted := append([]*discoveryv1.EndpointSlice(nil), existing...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })

	type kept struct {
		orig *discoveryv1.EndpointSlice
		key  string
		eps  []discoveryv1.Endpoint
	}
	var keptSlices []*kept
	var unused []*discoveryv1.EndpointSlice
	for _, s := range sorted {
		k := slicePortsKey(s.Ports)
		g, ok := groups[k]
		if !ok {
			unused = append(unused, s)
			continue
		}
		ks := &kept{orig: s, key: k}
		for _, e := range s.Endpoints {
			id := endpointID(e)
			if want, ok := g.want[id]; ok && !g.placed[id] && len(ks.eps) < maxPer {
				ks.eps = append(ks.eps, want)
				g.placed[id] = true
			}
		}
		keptSlices = append(keptSlices, ks)
	}

	var plan SlicePlan
	for _, k := range keys {
		g := groups[k]
		var rest []discoveryv1.Endpoint
		for _, id := range g.order {
			if !g.placed[id] {
				rest = append(rest, g.want[id])
			}
		}
		for _, ks := range keptSlices {
			if ks.key != k || len(rest) == 0 {
				continue
			}
			n := min(maxPer-len(ks.eps), len(rest))
			if n > 0 {
				ks.eps = append(ks.eps, rest[:n]...)
				rest = rest[n:]
			}
		}
		for len(rest) > 0 {
			n := min(maxPer, len(rest))
			s := newSlice(svc, at, g.ports)
			s.Endpoints = append(s.Endpoints, rest[:n]...)
			rest = rest[n:]
			plan.Create = append(plan.Create, s)
		}
	}

	for _, ks := range keptSlices {
		if len(ks.eps) == 0 {
			unused = append(unused, ks.orig)
			continue
		}
		want := ks.orig.DeepCopy()
		want.Endpoints = ks.eps
		want.Ports = groups[ks.key].ports
		if u := reconcileMeta(svc, want); u || !apiequality.Semantic.DeepEqual(want.Endpoints, ks.orig.Endpoints) ||
			!apiequality.Semantic.DeepEqual(want.Ports, ks.orig.Ports) {
			plan.Update = append(plan.Update, want)
		}
	}

	if len(desired) == 0 {
		// Keep (or make) one empty placeholder slice.
		var placeholder *discoveryv1.EndpointSlice
		for i, s := range unused {
			if len(s.Endpoints) == 0 && len(s.Ports) == 0 {
				placeholder = s
				unused = append(unused[:i:i], unused[i+1:]...)
				break
			}
		}
		if placeholder == nil && len(unused) > 0 {
			placeholder, unused = unused[0], unused[1:]
		}
		if placeholder == nil {
			plan.Create = append(plan.Create, newSlice(svc, at, []discoveryv1.EndpointPort{}))
		} else {
			want := placeholder.DeepCopy()
			want.Endpoints = []discoveryv1.Endpoint{}
			want.Ports = []discoveryv1.EndpointPort{}
			if reconcileMeta(svc, want) || len(placeholder.Endpoints) > 0 || len(placeholder.Ports) > 0 {
				plan.Update = append(plan.Update, want)
			}
		}
	}
	plan.Delete = unused
	return plan
}

// reconcileMeta sets the labels and the controller reference a slice must carry; it reports
// whether anything changed.
func reconcileMeta(svc *corev1.Service, s *discoveryv1.EndpointSlice) bool {
	changed := false
	want := SliceLabels(svc)
	if !apiequality.Semantic.DeepEqual(want, s.Labels) && !(len(want) == 0 && len(s.Labels) == 0) {
		s.Labels = want
		changed = true
	}
	if !metav1.IsControlledBy(s, svc) {
		var refs []metav1.OwnerReference
		for _, r := range s.OwnerReferences {
			if !ptr.Deref(r.Controller, false) {
				refs = append(refs, r)
			}
		}
		s.OwnerReferences = append(refs, *metav1.NewControllerRef(svc, corev1.SchemeGroupVersion.WithKind("Service")))
		changed = true
	}
	return changed
}
