package history

import (
	"strings"
	"testing"
	"time"
)

func obj(rv, data string, managed ...string) []byte {
	var mf []string
	for _, m := range managed {
		// "manager[/subresource]@operation@time"
		p := strings.Split(m, "@")
		manager, sub, _ := strings.Cut(p[0], "/")
		mf = append(mf, `{"manager":"`+manager+`","operation":"`+p[1]+`","subresource":"`+sub+`","time":"`+p[2]+`","fieldsType":"FieldsV1","fieldsV1":{}}`)
	}
	return []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","creationTimestamp":"2026-12-06T10:00:00Z","resourceVersion":"` + rv +
		`","managedFields":[` + strings.Join(mf, ",") + `]},"data":{"k":"` + data + `"}}`)
}

func TestBuild(t *testing.T) {
	t0 := "2026-12-06T10:00:00Z"
	t1 := "2026-12-06T10:01:00Z"
	t2 := "2026-12-06T10:02:00Z"
	recorded := time.Date(2026, 12, 6, 10, 3, 0, 0, time.UTC)
	tests := []struct {
		name   string
		snaps  []Snapshot
		writes map[int64]Write
		want   []Revision // checked: ResourceVersion, Manager, Operation, User, Time, Deleted, Diff substring in Diff
	}{
		{
			name: "created then changed by two managers, the last write recorded",
			snaps: []Snapshot{
				{Rev: 5, Created: true, Object: obj("5", "a", "kubectl-create@Update@"+t0)},
				{Rev: 7, Object: obj("7", "b", "kubectl-create@Update@"+t0, "kubectl-edit@Update@"+t1)},
				{Rev: 9, Object: obj("9", "c", "kubectl-create@Update@"+t2, "kubectl-edit@Update@"+t1)},
			},
			writes: map[int64]Write{9: {User: "bob", Verb: "patch", Time: recorded}},
			want: []Revision{
				{ResourceVersion: "5", Manager: "kubectl-create", Operation: "create", Time: mustTime(t0), Diff: "+   k: a"},
				{ResourceVersion: "7", Manager: "kubectl-edit", Operation: "update", Time: mustTime(t1), Diff: "-   k: a\n+   k: b"},
				{ResourceVersion: "9", Manager: "kubectl-create", Operation: "patch", User: "bob", Time: recorded, Diff: "-   k: b\n+   k: c"},
			},
		},
		{
			name: "compacted start, then deleted",
			snaps: []Snapshot{
				{Rev: 20, Object: obj("20", "x", "a@Apply@"+t0, "b@Update@"+t1)},
				{Rev: 21, Deleted: true},
			},
			writes: map[int64]Write{21: {User: "carol", Verb: "delete", Time: recorded}},
			want: []Revision{
				{ResourceVersion: "20", Manager: "b", Operation: "update", Time: mustTime(t1), Diff: "+   k: x"},
				{ResourceVersion: "21", Operation: "delete", User: "carol", Time: recorded, Deleted: true},
			},
		},
		{
			name: "two writes in one second: the latest entries, the recorded subresource picks",
			snaps: []Snapshot{
				{Rev: 30, Created: true, Object: obj("30", "a", "kubectl-create@Update@"+t0)},
				{Rev: 31, Object: obj("31", "b", "kubectl-create@Update@"+t0, "ctl/status@Update@"+t0)},
				{Rev: 32, Object: obj("32", "c", "kubectl-create@Update@"+t0, "ctl/status@Update@"+t0)},
			},
			writes: map[int64]Write{32: {User: "ctl", Verb: "update", Subresource: "status", Time: recorded}},
			want: []Revision{
				{ResourceVersion: "30", Manager: "kubectl-create", Operation: "create", Time: mustTime(t0), Diff: "+   k: a"},
				{ResourceVersion: "31", Manager: "ctl", Operation: "update status", Time: mustTime(t0), Diff: "+   k: b"},
				{ResourceVersion: "32", Manager: "ctl", Operation: "update status", User: "ctl", Time: recorded, Diff: "+   k: c"},
			},
		},
		{
			name:  "status subresource via Apply",
			snaps: []Snapshot{{Rev: 3, Created: true, Object: []byte(`{"metadata":{"name":"a","managedFields":[{"manager":"ctl","operation":"Apply","subresource":"status","time":"` + t0 + `"}]}}`)}},
			want:  []Revision{{ResourceVersion: "3", Manager: "ctl", Operation: "create", Time: mustTime(t0), Diff: "+   name: a"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Build(tc.snaps, func(rev int64) (Write, bool) { w, ok := tc.writes[rev]; return w, ok })
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d revisions, want %d", len(got), len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.ResourceVersion != w.ResourceVersion || g.Manager != w.Manager || g.Operation != w.Operation || g.User != w.User ||
					!g.Time.Equal(w.Time) || g.Deleted != w.Deleted {
					t.Errorf("revision %d: got %+v\nwant %+v", i, g, w)
				}
				if !strings.Contains(g.Diff, w.Diff) {
					t.Errorf("revision %d: diff lacks %q:\n%s", i, w.Diff, g.Diff)
				}
				if strings.Contains(g.Diff, "managedFields") || strings.Contains(g.Diff, "resourceVersion") {
					t.Errorf("revision %d: diff shows volatile fields:\n%s", i, g.Diff)
				}
			}
		})
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestRecorderRing(t *testing.T) {
	r := NewRecorder(2, nil)
	r.record(1, Write{User: "a"}, "")
	r.record(2, Write{User: "b"}, "/registry/pods/ns/x")
	r.record(2, Write{User: "ignored"}, "") // a no-op update keeps the first write
	if w, _ := r.Write(2); w.User != "b" || r.DeletedAt("/registry/pods/ns/x") != 2 {
		t.Fatalf("rev 2: %+v", w)
	}
	r.record(3, Write{User: "c"}, "")
	if _, ok := r.Write(1); ok {
		t.Errorf("rev 1 kept beyond the ring's size")
	}
	r.record(4, Write{User: "d"}, "")
	if _, ok := r.Write(2); ok || r.DeletedAt("/registry/pods/ns/x") != 0 {
		t.Errorf("rev 2 and its deletion kept beyond the ring's size")
	}
}

// BenchmarkRecord is the post-write hook's cost per write once the ring is full.
func BenchmarkRecord(b *testing.B) {
	r := NewRecorder(0, nil)
	w := Write{User: "system:kube-controller-manager", Verb: "update", Subresource: "status"}
	for i := 0; b.Loop(); i++ {
		r.record(int64(i+1), w, "")
	}
}
