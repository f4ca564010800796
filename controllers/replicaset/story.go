package replicaset

import (
	"context"
	"sort"
	"sync"

	oteltrace "go.opentelemetry.io/otel/trace"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/insight/trace"
)

// storyPods remembers, per ReplicaSet, the gone pods not yet named on a trace (pending: seen
// being deleted, finished or removed) and those already named, so that a pod is named as
// replaced once, by the sync that made its replacement.
type storyPods struct {
	mu             sync.Mutex
	pending, named map[types.UID]map[types.UID]bool
}

func (s *storyPods) set(m *map[types.UID]map[types.UID]bool, rs types.UID) map[types.UID]bool {
	if *m == nil {
		*m = map[types.UID]map[types.UID]bool{}
	}
	if (*m)[rs] == nil {
		(*m)[rs] = map[types.UID]bool{}
	}
	return (*m)[rs]
}

// gone records that a pod of rs is going or gone, unless it was named already.
func (s *storyPods) gone(rs, pod types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.named[rs][pod] {
		s.set(&s.pending, rs)[pod] = true
	}
}

// take returns the pods of rs gone and not yet named (those recorded and those in gone), sorted,
// and remembers them as named; named pods no longer present (they left the list) are forgotten.
func (s *storyPods) take(rs types.UID, gone []types.UID, present map[types.UID]bool) []types.UID {
	s.mu.Lock()
	defer s.mu.Unlock()
	named, pending := s.set(&s.named, rs), s.set(&s.pending, rs)
	for _, u := range gone {
		if !named[u] {
			pending[u] = true
		}
	}
	out := make([]types.UID, 0, len(pending))
	for u := range pending {
		out = append(out, u)
		named[u] = true
	}
	delete(s.pending, rs)
	for u := range named {
		if !present[u] && !pending[u] {
			delete(named, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// add remembers pods as named (the ones the ReplicaSet deletes itself: not replaced).
func (s *storyPods) add(rs types.UID, uids []types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	named := s.set(&s.named, rs)
	for _, u := range uids {
		named[u] = true
		delete(s.pending[rs], u)
	}
}

// GonePods are the UIDs of the pods rs controls that are being deleted or have finished
// (Succeeded, Failed): the pods a creation replaces.
func GonePods(rs *appsv1.ReplicaSet, all []*corev1.Pod) []types.UID {
	var out []types.UID
	for _, p := range all {
		if metav1.IsControlledBy(p, rs) && !IsPodActive(p) {
			out = append(out, p.UID)
		}
	}
	return out
}

// traceReplacements names on the sync's span (controllers.Traced) the pods it created as its
// effects and the gone pods they replace as its causes, so that `skiff trace` of the old pod
// goes on with its replacement and back (insight/trace.Select).
func (r *Reconciler) traceReplacements(ctx context.Context, rs *appsv1.ReplicaSet, all []*corev1.Pod, created []types.UID) {
	span := oteltrace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	present := make(map[types.UID]bool, len(all))
	for _, p := range all {
		present[p.UID] = true
	}
	if len(created) == 0 {
		return
	}
	span.SetAttributes(trace.Effects(created))
	if gone := r.named.take(rs.UID, GonePods(rs, all), present); len(gone) > 0 {
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
