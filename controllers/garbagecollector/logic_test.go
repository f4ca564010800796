package garbagecollector

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"testing"

	"github.com/go-logr/logr/funcr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

func TestMain(m *testing.M) {
	log.SetLogger(funcr.New(func(prefix, args string) { fmt.Fprintln(os.Stderr, prefix, args) }, funcr.Options{Verbosity: 2}))
	os.Exit(m.Run())
}

func owner(uid string, block bool) metav1.OwnerReference {
	r := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "o-" + uid, UID: types.UID(uid)}
	if block {
		r.BlockOwnerDeletion = &block
	}
	return r
}

func TestDecide(t *testing.T) {
	a, b, w := owner("a", false), owner("b", true), owner("w", true)
	tests := []struct {
		name          string
		c             classified
		finalizers    []string
		hasDependents bool
		depDeleting   bool
		want          decision
	}{
		{name: "all owners live", c: classified{solid: []metav1.OwnerReference{a, b}},
			want: decision{action: actionNone}},
		{name: "one live, one dangling: drop the dangling reference",
			c:    classified{solid: []metav1.OwnerReference{a}, dangling: []metav1.OwnerReference{b}},
			want: decision{action: actionRemoveRefs, removeRefs: []types.UID{"b"}}},
		{name: "one live, one waiting: drop the waiting reference",
			c:    classified{solid: []metav1.OwnerReference{a}, waiting: []metav1.OwnerReference{w}},
			want: decision{action: actionRemoveRefs, removeRefs: []types.UID{"w"}}},
		{name: "all dangling: background delete",
			c:    classified{dangling: []metav1.OwnerReference{a, b}},
			want: decision{action: actionDelete, policy: metav1.DeletePropagationBackground}},
		{name: "all dangling, orphan finalizer honoured",
			c: classified{dangling: []metav1.OwnerReference{a}}, finalizers: []string{finalizerOrphan},
			want: decision{action: actionDelete, policy: metav1.DeletePropagationOrphan}},
		{name: "all dangling, foreground finalizer honoured",
			c: classified{dangling: []metav1.OwnerReference{a}}, finalizers: []string{finalizerForeground},
			want: decision{action: actionDelete, policy: metav1.DeletePropagationForeground}},
		{name: "waiting owner, own dependents: foreground",
			c: classified{waiting: []metav1.OwnerReference{w}}, hasDependents: true,
			want: decision{action: actionDelete, policy: metav1.DeletePropagationForeground}},
		{name: "waiting owner, dependent also deleting dependents: unblock first",
			c: classified{waiting: []metav1.OwnerReference{w}}, hasDependents: true, depDeleting: true,
			want: decision{action: actionDelete, policy: metav1.DeletePropagationForeground, unblock: true}},
		{name: "waiting owner, no dependents: background",
			c:    classified{waiting: []metav1.OwnerReference{w}, dangling: []metav1.OwnerReference{a}},
			want: decision{action: actionDelete, policy: metav1.DeletePropagationBackground}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decide(tt.c, tt.finalizers, tt.hasDependents, tt.depDeleting)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRefHelpers(t *testing.T) {
	a, b := owner("a", true), owner("b", true)
	if got := withoutRefs([]metav1.OwnerReference{a, b}, []types.UID{"a"}); len(got) != 1 || got[0].UID != "b" {
		t.Errorf("withoutRefs = %v", got)
	}
	if got := withoutRefs([]metav1.OwnerReference{a}, []types.UID{"a"}); got == nil || len(got) != 0 {
		t.Errorf("withoutRefs of all must be an empty list, got %#v", got)
	}
	got := unblockRefs([]metav1.OwnerReference{a, b}, []metav1.OwnerReference{b})
	if !blocks(got[0]) || blocks(got[1]) || !blocks(a) {
		t.Errorf("unblockRefs = %v (input must be untouched: %v)", got, a)
	}
	added, removed, unblocked := diffOwners([]metav1.OwnerReference{a, b}, []metav1.OwnerReference{owner("b", false), owner("c", false)})
	if len(added) != 1 || added[0].UID != "c" || len(removed) != 1 || removed[0].UID != "a" || len(unblocked) != 1 || unblocked[0].UID != "b" {
		t.Errorf("diffOwners = %v %v %v", added, removed, unblocked)
	}
}

// obs is an informer event for a ConfigMap in namespace ns.
func obs(uid, ns string, owners []metav1.OwnerReference, beingDeleted bool, finalizers ...string) *event {
	return &event{typ: addOrUpdateEvent, identity: objectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: "o-" + uid, UID: types.UID(uid)},
		owners: owners, beingDeleted: beingDeleted, finalizers: finalizers}
}

func del(uid, ns string, owners ...metav1.OwnerReference) *event {
	ev := obs(uid, ns, owners, false)
	ev.typ = deleteEvent
	return ev
}

func uids(list []types.UID) []string {
	out := []string{}
	for _, u := range list {
		out = append(out, string(u))
	}
	sort.Strings(out)
	return out
}

func TestGraph(t *testing.T) {
	type step struct {
		ev         *event
		wantDelete []string
		wantOrphan []string
		wantNodes  int
	}
	a, ab := owner("a", false), owner("a", true)
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "dependent before its owner: virtual owner checked, then observed", steps: []step{
			{ev: obs("d", "ns", []metav1.OwnerReference{a}, false), wantDelete: []string{"a"}, wantNodes: 2},
			{ev: obs("a", "ns", nil, false), wantDelete: []string{}, wantNodes: 2},
		}},
		{name: "owner deleted: dependents checked", steps: []step{
			{ev: obs("a", "ns", nil, false), wantDelete: []string{}, wantNodes: 1},
			{ev: obs("d", "ns", []metav1.OwnerReference{a}, false), wantDelete: []string{}, wantNodes: 2},
			{ev: del("a", "ns"), wantDelete: []string{"d"}, wantNodes: 2},
			{ev: del("d", "ns", a), wantDelete: []string{}, wantNodes: 0},
		}},
		{name: "foreground: dependents and owner queued once; dependent's deletion requeues the owner", steps: []step{
			{ev: obs("a", "ns", nil, false), wantDelete: []string{}, wantNodes: 1},
			{ev: obs("d", "ns", []metav1.OwnerReference{ab}, false), wantDelete: []string{}, wantNodes: 2},
			{ev: obs("a", "ns", nil, true, finalizerForeground), wantDelete: []string{"a", "d"}, wantNodes: 2},
			{ev: obs("a", "ns", nil, true, finalizerForeground), wantDelete: []string{}, wantNodes: 2},
			{ev: del("d", "ns", ab), wantDelete: []string{"a"}, wantNodes: 1},
		}},
		{name: "foreground: unblocking a reference requeues the owner", steps: []step{
			{ev: obs("a", "ns", nil, true, finalizerForeground), wantDelete: []string{"a"}, wantNodes: 1},
			{ev: obs("d", "ns", []metav1.OwnerReference{ab}, false), wantDelete: []string{"d"}, wantNodes: 2},
			{ev: obs("d", "ns", []metav1.OwnerReference{a}, false), wantDelete: []string{"a"}, wantNodes: 2},
		}},
		{name: "orphan finalizer queues the owner for orphaning", steps: []step{
			{ev: obs("a", "ns", nil, false), wantDelete: []string{}, wantNodes: 1},
			{ev: obs("a", "ns", nil, true, finalizerOrphan), wantDelete: []string{}, wantOrphan: []string{"a"}, wantNodes: 1},
		}},
		{name: "reference removed from a dependent", steps: []step{
			{ev: obs("a", "ns", nil, false), wantDelete: []string{}, wantNodes: 1},
			{ev: obs("d", "ns", []metav1.OwnerReference{a}, false), wantDelete: []string{}, wantNodes: 2},
			{ev: obs("d", "ns", nil, false), wantDelete: []string{}, wantNodes: 2},
			{ev: del("a", "ns"), wantDelete: []string{}, wantNodes: 1},
		}},
		{name: "owner in another namespace: the dependent verifies its reference", steps: []step{
			{ev: obs("a", "other", nil, false), wantDelete: []string{}, wantNodes: 1},
			{ev: obs("d", "ns", []metav1.OwnerReference{a}, false), wantDelete: []string{"d"}, wantNodes: 2},
		}},
		{name: "virtual owner found gone: removed, dependents checked", steps: []step{
			{ev: obs("d", "ns", []metav1.OwnerReference{a}, false), wantDelete: []string{"a"}, wantNodes: 2},
			{ev: &event{typ: deleteEvent, virtual: true, identity: objectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "o-a", UID: "a"}},
				wantDelete: []string{"d"}, wantNodes: 1},
		}},
		{name: "virtual delete of an observed node only checks dependents", steps: []step{
			{ev: obs("a", "ns", nil, false), wantDelete: []string{}, wantNodes: 1},
			{ev: obs("d", "ns", []metav1.OwnerReference{a}, false), wantDelete: []string{}, wantNodes: 2},
			{ev: &event{typ: deleteEvent, virtual: true, identity: objectReference{UID: "a"}}, wantDelete: []string{"d"}, wantNodes: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGraph()
			for i, s := range tt.steps {
				out := g.process(s.ev)
				if got := uids(out.attemptToDelete); !reflect.DeepEqual(got, sortedOrEmpty(s.wantDelete)) {
					t.Errorf("step %d: attemptToDelete = %v, want %v", i, got, s.wantDelete)
				}
				if got := uids(out.attemptToOrphan); !reflect.DeepEqual(got, sortedOrEmpty(s.wantOrphan)) {
					t.Errorf("step %d: attemptToOrphan = %v, want %v", i, got, s.wantOrphan)
				}
				if g.size() != s.wantNodes {
					t.Errorf("step %d: %d nodes, want %d", i, g.size(), s.wantNodes)
				}
			}
		})
	}
}

func sortedOrEmpty(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}

func TestSnapshotBlockingDependents(t *testing.T) {
	g := newGraph()
	g.process(obs("a", "ns", nil, true, finalizerForeground))
	g.process(obs("d1", "ns", []metav1.OwnerReference{owner("a", true)}, false))
	g.process(obs("d2", "ns", []metav1.OwnerReference{owner("a", false)}, false))
	s, ok := g.snapshot("a")
	if !ok || !s.deletingDependents || len(s.dependents) != 2 {
		t.Fatalf("snapshot = %+v", s)
	}
	if b := s.blockingDependents(); len(b) != 1 || b[0].identity.UID != "d1" {
		t.Errorf("blocking = %+v", b)
	}
}

func TestAbsentCacheEvicts(t *testing.T) {
	c := newAbsentCache(2)
	r := func(ns string) objectReference {
		return objectReference{Kind: "ConfigMap", Namespace: ns, Name: "x", UID: "u"}
	}
	c.add(r("a"))
	c.add(r("b"))
	c.add(r("c"))
	if c.has(r("a")) || !c.has(r("b")) || !c.has(r("c")) {
		t.Errorf("cache = %v", c.set)
	}
	if c.has(r("d")) {
		t.Error("same UID in another namespace must not be absent")
	}
}
