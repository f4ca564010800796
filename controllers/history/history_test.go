package history

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

var dsKind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

func parent(name string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name + "-uid")}}
}

func raw(s string) runtime.RawExtension { return runtime.RawExtension{Raw: []byte(s)} }

func rev(name string, revision int64, created time.Time, data string, lbls map[string]string, owner *appsv1.DaemonSet) *appsv1.ControllerRevision {
	cr := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: lbls,
		CreationTimestamp: metav1.NewTime(created)}, Data: raw(data), Revision: revision}
	if owner != nil {
		cr.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(owner, dsKind)}
	}
	return cr
}

func TestControllerRevisionName(t *testing.T) {
	tests := []struct {
		prefix, hash, want string
	}{
		{"fluentd", "5b4c6d7f8", "fluentd-5b4c6d7f8"},
		{strings.Repeat("a", 223), "h", strings.Repeat("a", 223) + "-h"},
		{strings.Repeat("a", 300), "h", strings.Repeat("a", 223) + "-h"},
	}
	for _, tt := range tests {
		if got := ControllerRevisionName(tt.prefix, tt.hash); got != tt.want {
			t.Errorf("ControllerRevisionName(%d chars) = %q, want %q", len(tt.prefix), got, tt.want)
		}
	}
}

func TestHashControllerRevision(t *testing.T) {
	a := &appsv1.ControllerRevision{Data: raw(`{"a":1}`)}
	b := &appsv1.ControllerRevision{Data: raw(`{"a":2}`)}
	obj := &appsv1.ControllerRevision{Data: runtime.RawExtension{Object: &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "x"}}}}
	tests := []struct {
		name     string
		x, y     *appsv1.ControllerRevision
		px, py   *int32
		wantSame bool
	}{
		{"same data", a, a.DeepCopy(), nil, nil, true},
		{"other data", a, b, nil, nil, false},
		{"collision count changes the hash", a, a, nil, ptr.To[int32](1), false},
		{"same collision count", a, a, ptr.To[int32](3), ptr.To[int32](3), true},
		{"collision counts differ", a, a, ptr.To[int32](0), ptr.To[int32](1), false},
		{"object data", obj, obj.DeepCopy(), nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hx, hy := HashControllerRevision(tt.x, tt.px), HashControllerRevision(tt.y, tt.py)
			if (hx == hy) != tt.wantSame {
				t.Errorf("hashes %q and %q: same = %v, want %v", hx, hy, hx == hy, tt.wantSame)
			}
			if strings.ContainsAny(hx, "aeiou") {
				t.Errorf("hash %q is not safe-encoded", hx)
			}
		})
	}
}

func TestNewControllerRevision(t *testing.T) {
	p := parent("fluentd")
	cr := NewControllerRevision(p, dsKind, map[string]string{"app": "fluentd"}, raw(`{"spec":{}}`), 3, nil)
	hash := HashControllerRevision(cr, nil)
	if cr.Name != "fluentd-"+hash || cr.Namespace != "ns" || cr.Revision != 3 {
		t.Errorf("revision = %s/%s revision %d, want ns/fluentd-%s revision 3", cr.Namespace, cr.Name, cr.Revision, hash)
	}
	if want := (labels.Set{"app": "fluentd", ControllerRevisionHashLabel: hash}); !labels.Equals(cr.Labels, want) {
		t.Errorf("labels = %v, want %v", cr.Labels, want)
	}
	if !metav1.IsControlledBy(cr, p) || cr.OwnerReferences[0].Kind != "DaemonSet" || cr.OwnerReferences[0].APIVersion != "apps/v1" {
		t.Errorf("owner references = %+v", cr.OwnerReferences)
	}
	collided := NewControllerRevision(p, dsKind, map[string]string{"app": "fluentd"}, raw(`{"spec":{}}`), 3, ptr.To[int32](1))
	if collided.Name == cr.Name {
		t.Errorf("a collision count gives the same name %s", cr.Name)
	}
}

func TestSortControllerRevisions(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   []*appsv1.ControllerRevision
		want []string
	}{
		{"by revision", []*appsv1.ControllerRevision{rev("c", 3, t0, "", nil, nil), rev("a", 1, t0, "", nil, nil), rev("b", 2, t0, "", nil, nil)}, []string{"a", "b", "c"}},
		{"ties by creation", []*appsv1.ControllerRevision{rev("late", 1, t0.Add(time.Second), "", nil, nil), rev("early", 1, t0, "", nil, nil)}, []string{"early", "late"}},
		{"then by name", []*appsv1.ControllerRevision{rev("y", 1, t0, "", nil, nil), rev("x", 1, t0, "", nil, nil)}, []string{"x", "y"}},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			SortControllerRevisions(tt.in)
			var got []string
			for _, r := range tt.in {
				got = append(got, r.Name)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("order = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEqualRevision(t *testing.T) {
	t0 := time.Now()
	hashed := func(h, data string) *appsv1.ControllerRevision {
		return rev("r", 1, t0, data, map[string]string{ControllerRevisionHashLabel: h}, nil)
	}
	tests := []struct {
		name     string
		lhs, rhs *appsv1.ControllerRevision
		want     bool
	}{
		{"both nil", nil, nil, true},
		{"one nil", hashed("1", "{}"), nil, false},
		{"same data", rev("a", 1, t0, `{"x":1}`, nil, nil), rev("b", 2, t0, `{"x":1}`, nil, nil), true},
		{"other data", rev("a", 1, t0, `{"x":1}`, nil, nil), rev("b", 1, t0, `{"x":2}`, nil, nil), false},
		{"numeric hashes differ", hashed("1", "{}"), hashed("2", "{}"), false},
		{"numeric hashes equal, data differs", hashed("1", `{"x":1}`), hashed("1", `{"x":2}`), false},
		{"encoded hashes differ, data equal", hashed("5b4c", "{}"), hashed("7d9f", "{}"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EqualRevision(tt.lhs, tt.rhs); got != tt.want {
				t.Errorf("EqualRevision = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFindEqualRevisionsAndNext(t *testing.T) {
	t0 := time.Now()
	revs := []*appsv1.ControllerRevision{rev("a", 4, t0, `{"x":1}`, nil, nil), rev("b", 2, t0, `{"x":2}`, nil, nil), rev("c", 7, t0, `{"x":1}`, nil, nil)}
	eq := FindEqualRevisions(revs, rev("n", 0, t0, `{"x":1}`, nil, nil))
	if len(eq) != 2 || eq[0].Name != "a" || eq[1].Name != "c" {
		t.Errorf("FindEqualRevisions = %v", eq)
	}
	if got := NextRevision(revs); got != 8 {
		t.Errorf("NextRevision = %d, want 8", got)
	}
	if got := NextRevision(nil); got != 1 {
		t.Errorf("NextRevision(nil) = %d, want 1", got)
	}
}
