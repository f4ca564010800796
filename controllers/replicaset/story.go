package replicaset

import (
	"context"
	"sync"

	oteltrace "go.opentelemetry.io/otel/trace"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/insight/trace"
)

// storyPods remembers, per ReplicaSet, the gone pods a trace already named, so that a pod is
// named as replaced once, by the sync that made its replacement.
type storyPods struct {
	mu    sync.Mutex
	named map[types.UID]map[types.UID]bool
}

// take returns the UIDs of gone not yet named and remembers them; a pod no longer present (it
// left the list) is forgotten.
func (s *storyPods) take(rs types.UID, gone []types.UID, present map[types.UID]bool) []types.UID {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.named == nil {
		s.named = map[types.UID]map[types.UID]bool{}
	}
	before := s.named[rs]
	now := make(map[types.UID]bool, len(gone))
	for u := range before {
		if present[u] {
			now[u] = true
		}
	}
	var fresh []types.UID
	for _, u := range gone {
		now[u] = true
		if !before[u] {
			fresh = append(fresh, u)
		}
	}
	s.named[rs] = now
	return fresh
}

// add remembers pods as named (the ones the ReplicaSet deletes itself: not replaced).
func (s *storyPods) add(rs types.UID, uids []types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.named == nil {
		s.named = map[types.UID]map[types.UID]bool{}
	}
	if s.named[rs] == nil {
		s.named[rs] = map[types.UID]bool{}
	}
	for _, u := range uids {
		s.named[rs][u] = true
	}
}

// GonePods are the UIDs of the pods rs controls that are being deleted or have finished
// (Succeeded, Failed): the pods a creation replaces.
func GonePods(rs *appsv1.ReplicaSet, all []corev1.Pod) []types.UID {
	var out []types.UID
	for i := range all {
		p := &all[i]
		if metav1.IsControlledBy(p, rs) && !IsPodActive(p) {
			out = append(out, p.UID)
		}
	}
	return out
}

// traceReplacements names on the sync's span (controllers.Traced) the pods it created as its
// effects and the gone pods they replace as its causes, so that `skiff trace` of the old pod
// goes on with its replacement and back (insight/trace.Select).
func (r *Reconciler) traceReplacements(ctx context.Context, rs *appsv1.ReplicaSet, all []corev1.Pod, created []types.UID) {
	span := oteltrace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	present := make(map[types.UID]bool, len(all))
	for i := range all {
		present[all[i].UID] = true
	}
	gone := r.named.take(rs.UID, GonePods(rs, all), present)
	if len(created) > 0 {
		span.SetAttributes(trace.Effects(created))
	}
	if len(gone) > 0 && len(created) > 0 {
		span.SetAttributes(trace.Causes(gone))
	}
}

// traceDeletions names the pods the sync deletes on its span, and remembers them as not
// replaced.
func (r *Reconciler) traceDeletions(ctx context.Context, rs *appsv1.ReplicaSet, pods []*corev1.Pod) {
	span := oteltrace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	uids := make([]types.UID, len(pods))
	for i, p := range pods {
		uids[i] = p.UID
	}
	r.named.add(rs.UID, uids)
	span.SetAttributes(trace.Related(uids))
}
