package helper

import (
	"fmt"
	"sort"
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// PodEndpoint is what EndpointSlices say about one pod's endpoint: the pod's name (from the
// endpoint's targetRef) and its conditions, nil conditions read as upstream's consumers read
// them (ready and serving, not terminating).
type PodEndpoint struct {
	Name                        string
	Ready, Serving, Terminating bool
}

// PodEndpoints collects the endpoints of the slices that target pods, by pod UID. A pod with
// endpoints in several slices (several services, address types) is ready, serving and
// terminating when any of them says so.
func PodEndpoints(slices ...*discoveryv1.EndpointSlice) map[types.UID]PodEndpoint {
	out := map[types.UID]PodEndpoint{}
	for _, s := range slices {
		if s == nil {
			continue
		}
		for _, e := range s.Endpoints {
			ref := e.TargetRef
			if ref == nil || ref.UID == "" || ref.Kind != "Pod" {
				continue
			}
			ready := e.Conditions.Ready == nil || *e.Conditions.Ready
			serving := ready
			if e.Conditions.Serving != nil {
				serving = *e.Conditions.Serving
			}
			pe := out[ref.UID]
			pe.Name = ref.Name
			pe.Ready = pe.Ready || ready
			pe.Serving = pe.Serving || serving
			pe.Terminating = pe.Terminating || e.Conditions.Terminating != nil && *e.Conditions.Terminating
			out[ref.UID] = pe
		}
	}
	return out
}

// EndpointChange is how one pod's endpoint changed: "added (ready)", "added (not ready)",
// "removed", "ready", "not ready", "terminating", "not terminating", "serving", "not serving".
type EndpointChange struct {
	UID    types.UID
	Name   string
	Change string
}

// EndpointChanges compares two views of pods' endpoints (PodEndpoints) and lists the pods whose
// endpoint appeared, disappeared or changed its readiness (else its termination, else its
// serving condition), sorted by pod name and UID.
func EndpointChanges(before, after map[types.UID]PodEndpoint) []EndpointChange {
	var out []EndpointChange
	for uid, a := range after {
		b, had := before[uid]
		change := ""
		switch {
		case !had && a.Ready:
			change = "added (ready)"
		case !had:
			change = "added (not ready)"
		case a.Ready != b.Ready:
			change = ternary(a.Ready, "ready", "not ready")
		case a.Terminating != b.Terminating:
			change = ternary(a.Terminating, "terminating", "not terminating")
		case a.Serving != b.Serving:
			change = ternary(a.Serving, "serving", "not serving")
		}
		if change != "" {
			out = append(out, EndpointChange{UID: uid, Name: a.Name, Change: change})
		}
	}
	for uid, b := range before {
		if _, ok := after[uid]; !ok {
			out = append(out, EndpointChange{UID: uid, Name: b.Name, Change: "removed"})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].UID < out[j].UID
	})
	return out
}

func ternary(c bool, yes, no string) string {
	if c {
		return yes
	}
	return no
}

// SummarizeEndpointChanges says in a few words what changed: "web-1 ready", "web-1 ready,
// web-2 removed", and past three pods "web-1 ready, web-2 ready, web-3 added (ready), +4 more".
func SummarizeEndpointChanges(changes []EndpointChange) string {
	const shown = 3
	parts := make([]string, 0, shown+1)
	for i, c := range changes {
		if i == shown {
			parts = append(parts, fmt.Sprintf("+%d more", len(changes)-shown))
			break
		}
		parts = append(parts, c.Name+" "+c.Change)
	}
	return strings.Join(parts, ", ")
}

// ChangedUIDs are the pods of the changes.
func ChangedUIDs(changes []EndpointChange) []types.UID {
	out := make([]types.UID, len(changes))
	for i, c := range changes {
		out[i] = c.UID
	}
	return out
}
