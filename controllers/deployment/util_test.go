package deployment

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func pct(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
func num(n int32) *intstr.IntOrString  { v := intstr.FromInt32(n); return &v }

func rolling(replicas int32, surge, unavailable *intstr.IntOrString) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Generation: 1},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas), ProgressDeadlineSeconds: ptr.To[int32](600),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: surge, MaxUnavailable: unavailable}}},
	}
}

func rs(name string, spec, available int32, annotations ...string) *appsv1.ReplicaSet {
	r := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), Annotations: map[string]string{}},
		Spec:   appsv1.ReplicaSetSpec{Replicas: ptr.To(spec)},
		Status: appsv1.ReplicaSetStatus{Replicas: spec, ReadyReplicas: available, AvailableReplicas: available}}
	for i := 0; i+1 < len(annotations); i += 2 {
		r.Annotations[annotations[i]] = annotations[i+1]
	}
	return r
}

func TestResolveFenceposts(t *testing.T) {
	cases := []struct {
		surge, unavailable *intstr.IntOrString
		desired            int32
		wantSurge, wantUn  int32
		err                bool
	}{
		{pct("25%"), pct("25%"), 10, 3, 2, false}, // surge rounds up, unavailable down
		{pct("25%"), pct("25%"), 1, 1, 0, false},
		{pct("25%"), pct("25%"), 4, 1, 1, false},
		{pct("0%"), pct("1%"), 2, 0, 1, false}, // both zero: unavailable 1
		{num(0), num(0), 3, 0, 1, false},
		{nil, nil, 3, 0, 1, false},
		{num(2), num(1), 5, 2, 1, false},
		{pct("100%"), pct("0%"), 3, 3, 0, false},
		{pct("50%"), pct("50%"), 3, 2, 1, false},
		{pct("abc"), nil, 3, 0, 0, true},
	}
	for _, tc := range cases {
		s, u, err := ResolveFenceposts(tc.surge, tc.unavailable, tc.desired)
		if (err != nil) != tc.err || s != tc.wantSurge || u != tc.wantUn {
			t.Errorf("ResolveFenceposts(%v, %v, %d) = %d, %d, %v; want %d, %d", tc.surge, tc.unavailable, tc.desired, s, u, err, tc.wantSurge, tc.wantUn)
		}
	}
}

func TestMaxSurgeMaxUnavailable(t *testing.T) {
	if got := MaxUnavailable(rolling(2, num(0), num(5))); got != 2 {
		t.Errorf("MaxUnavailable clamps to replicas: %d", got)
	}
	if got := MaxUnavailable(rolling(0, num(1), num(1))); got != 0 {
		t.Errorf("zero replicas: %d", got)
	}
	re := rolling(3, num(1), num(1))
	re.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	if MaxUnavailable(re) != 0 || MaxSurge(re) != 0 {
		t.Errorf("recreate has no surge/unavailable")
	}
	if got := MaxSurge(rolling(10, pct("25%"), pct("25%"))); got != 3 {
		t.Errorf("MaxSurge %d", got)
	}
}

func TestNewRSNewReplicas(t *testing.T) {
	cases := []struct {
		name  string
		d     *appsv1.Deployment
		old   []*appsv1.ReplicaSet
		newRS *appsv1.ReplicaSet
		want  int32
	}{
		{"fresh rollout surges", rolling(10, pct("25%"), pct("25%")), []*appsv1.ReplicaSet{rs("old", 10, 10)}, rs("new", 0, 0), 3},
		{"at max total", rolling(10, pct("25%"), pct("25%")), []*appsv1.ReplicaSet{rs("old", 10, 10)}, rs("new", 3, 0), 3},
		{"old scaled down", rolling(10, pct("25%"), pct("25%")), []*appsv1.ReplicaSet{rs("old", 5, 5)}, rs("new", 3, 3), 8},
		{"never above desired", rolling(3, num(5), num(0)), nil, rs("new", 0, 0), 3},
		{"recreate", func() *appsv1.Deployment {
			d := rolling(4, nil, nil)
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
			return d
		}(), []*appsv1.ReplicaSet{rs("old", 4, 4)}, rs("new", 0, 0), 4},
	}
	for _, tc := range cases {
		got, err := NewRSNewReplicas(tc.d, append(tc.old, tc.newRS), tc.newRS)
		if err != nil || got != tc.want {
			t.Errorf("%s: %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
}

func TestMaxScaledDown(t *testing.T) {
	cases := []struct {
		name       string
		d          *appsv1.Deployment
		old, newRS *appsv1.ReplicaSet
		want       int32
	}{
		// 10 desired, minAvailable 8; 13 pods, 3 new unavailable: 13-8-3 = 2
		{"new pods not ready", rolling(10, pct("25%"), pct("25%")), rs("old", 10, 10), rs("new", 3, 0), 2},
		{"new pods ready", rolling(10, pct("25%"), pct("25%")), rs("old", 10, 10), rs("new", 3, 3), 5},
		{"no room", rolling(3, num(1), num(0)), rs("old", 3, 3), rs("new", 1, 0), 0},
	}
	for _, tc := range cases {
		if got := MaxScaledDown(tc.d, []*appsv1.ReplicaSet{tc.old, tc.newRS}, tc.newRS); got != tc.want {
			t.Errorf("%s: %d want %d", tc.name, got, tc.want)
		}
	}
}

func TestGetProportion(t *testing.T) {
	d := rolling(20, num(2), num(0)) // scaled from 10 (max 12) to 20 (max 22)
	a := rs("a", 8, 8, MaxReplicasAnnotation, "12")
	b := rs("b", 4, 0, MaxReplicasAnnotation, "12")
	toAdd := int32(22 - 12)
	pa := GetProportion(a, d, toAdd, 0)
	pb := GetProportion(b, d, toAdd, pa)
	// a: 8*22/12 = 14.67 -> 15 (+7); b: 4*22/12 = 7.33 -> 7 (+3)
	if pa != 7 || pb != 3 {
		t.Errorf("proportions %d %d", pa, pb)
	}
	if got := GetProportion(a, d, 2, 0); got != 2 {
		t.Errorf("capped by what is allowed: %d", got)
	}
	down := rolling(6, num(0), num(1))
	if got := GetProportion(rs("a", 8, 8, MaxReplicasAnnotation, "12"), down, -6, 0); got != -4 {
		t.Errorf("scale down: %d", got)
	}
	if got := GetProportion(rs("z", 0, 0), d, 5, 0); got != 0 {
		t.Errorf("zero-sized rs gets nothing: %d", got)
	}
}

func TestFindActiveOrLatest(t *testing.T) {
	older, newer := rs("older", 0, 0), rs("newer", 0, 0)
	older.CreationTimestamp = metav1.NewTime(t0)
	newer.CreationTimestamp = metav1.NewTime(t0.Add(time.Minute))
	if got := FindActiveOrLatest(nil, []*appsv1.ReplicaSet{older, newer}); got != newer {
		t.Errorf("latest: %v", got.Name)
	}
	n := rs("new", 0, 0)
	if got := FindActiveOrLatest(n, []*appsv1.ReplicaSet{older}); got != n {
		t.Errorf("new when none active")
	}
	active := rs("active", 3, 3)
	if got := FindActiveOrLatest(n, []*appsv1.ReplicaSet{older, active}); got != active {
		t.Errorf("the only active one")
	}
	if got := FindActiveOrLatest(rs("n2", 1, 1), []*appsv1.ReplicaSet{active}); got != nil {
		t.Errorf("several active: nil")
	}
}

func TestSetNewReplicaSetAnnotations(t *testing.T) {
	d := rolling(3, pct("25%"), pct("25%"))
	d.Annotations = map[string]string{"team": "a", RevisionAnnotation: "9", corev1.LastAppliedConfigAnnotation: "{}"}
	fresh := rs("new", 0, 0)
	if !SetNewReplicaSetAnnotations(d, fresh, "4", false, maxRevHistoryLengthInChars) {
		t.Fatal("no change reported")
	}
	want := map[string]string{"team": "a", RevisionAnnotation: "4", DesiredReplicasAnnotation: "3", MaxReplicasAnnotation: "4"}
	if fmt.Sprint(fresh.Annotations) != fmt.Sprint(want) {
		t.Errorf("annotations %v want %v", fresh.Annotations, want)
	}
	// Rolling back to revision 1 (history 0 empty) as revision 5, then again as 7.
	back := rs("back", 0, 0, RevisionAnnotation, "1", "team", "a")
	SetNewReplicaSetAnnotations(d, back, "5", true, maxRevHistoryLengthInChars)
	SetNewReplicaSetAnnotations(d, back, "7", true, maxRevHistoryLengthInChars)
	if back.Annotations[RevisionAnnotation] != "7" || back.Annotations[RevisionHistoryAnnotation] != "1,5" {
		t.Errorf("rollback annotations %v", back.Annotations)
	}
	if SetNewReplicaSetAnnotations(d, back, "3", true, maxRevHistoryLengthInChars) {
		t.Errorf("a lower revision must not change anything")
	}
	if _, ok := back.Annotations[DesiredReplicasAnnotation]; ok {
		t.Errorf("existing RS replicas annotations are set by scaling only")
	}
	limited := rs("l", 0, 0, RevisionAnnotation, "30", RevisionHistoryAnnotation, "10,20")
	SetNewReplicaSetAnnotations(d, limited, "40", true, 6)
	if got := limited.Annotations[RevisionHistoryAnnotation]; got != "20,30" {
		t.Errorf("history trimmed to limit: %q", got)
	}
}

func TestComputeHash(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1"}}}}
	h := ComputeHash(tmpl, nil)
	if h != ComputeHash(tmpl.DeepCopy(), nil) {
		t.Fatal("not deterministic")
	}
	if len(h) == 0 || len(h) > 10 || strings.ContainsAny(h, "aeiou013") {
		t.Errorf("hash %q not SafeEncodeString-shaped", h)
	}
	other := tmpl.DeepCopy()
	other.Spec.Containers[0].Image = "nginx:2"
	seen := map[string]bool{h: true}
	for _, x := range []string{ComputeHash(other, nil), ComputeHash(tmpl, ptr.To[int32](0)), ComputeHash(tmpl, ptr.To[int32](1))} {
		if seen[x] {
			t.Errorf("hash collision %q", x)
		}
		seen[x] = true
	}
}

func TestEqualIgnoreHashAndFindNew(t *testing.T) {
	d := rolling(1, nil, nil)
	d.Spec.Template = corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1"}}}}
	match := rs("match", 1, 1)
	match.Spec.Template = *d.Spec.Template.DeepCopy()
	match.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = "abc"
	other := rs("other", 1, 1)
	other.Spec.Template = *d.Spec.Template.DeepCopy()
	other.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	if got := FindNewReplicaSet(d, []*appsv1.ReplicaSet{other, match}); got != match {
		t.Errorf("new rs %v", got)
	}
	if olds := FindOldReplicaSets(d, []*appsv1.ReplicaSet{other, match}); len(olds) != 1 || olds[0] != other {
		t.Errorf("old rs %v", olds)
	}
}

func TestSortByRevision(t *testing.T) {
	a, b, c := rs("a", 0, 0, RevisionAnnotation, "10"), rs("b", 0, 0, RevisionAnnotation, "2"), rs("c", 0, 0)
	l := []*appsv1.ReplicaSet{a, b, c}
	SortByRevision(l)
	if l[0] != c || l[1] != b || l[2] != a {
		t.Errorf("order %s %s %s", l[0].Name, l[1].Name, l[2].Name)
	}
}

func TestProgressStatus(t *testing.T) {
	now := t0.Add(time.Hour)
	newRS := rs("web-new", 3, 3)
	oldRS := rs("web-old", 0, 0)

	d := rolling(3, pct("25%"), pct("25%"))
	st := ProgressStatus(d, []*appsv1.ReplicaSet{oldRS, newRS}, newRS, now)
	p, a := GetCondition(st, appsv1.DeploymentProgressing), GetCondition(st, appsv1.DeploymentAvailable)
	if st.Replicas != 3 || st.UpdatedReplicas != 3 || st.AvailableReplicas != 3 || st.UnavailableReplicas != 0 || st.ObservedGeneration != 1 {
		t.Errorf("status %+v", st)
	}
	if p == nil || p.Reason != NewRSAvailableReason || p.Message != `ReplicaSet "web-new" has successfully progressed.` || p.Status != corev1.ConditionTrue {
		t.Errorf("progressing %+v", p)
	}
	if a == nil || a.Reason != MinimumReplicasAvailable || a.Message != "Deployment has minimum availability." {
		t.Errorf("available %+v", a)
	}

	// Mid-rollout progress: ReplicaSetUpdated, keeping the transition time.
	d = rolling(3, pct("25%"), pct("25%"))
	d.Status = appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 1, AvailableReplicas: 3,
		Conditions: []appsv1.DeploymentCondition{NewCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, NewReplicaSetReason, "Created new replica set \"web-new\"", t0)}}
	mid := rs("web-new", 2, 1)
	st = ProgressStatus(d, []*appsv1.ReplicaSet{rs("web-old", 2, 2), mid}, mid, now)
	p = GetCondition(st, appsv1.DeploymentProgressing)
	if p.Reason != ReplicaSetUpdatedReason || p.Message != `ReplicaSet "web-new" is progressing.` || !p.LastTransitionTime.Time.Equal(t0) || !p.LastUpdateTime.Time.Equal(now) {
		t.Errorf("progressing %+v", p)
	}

	// No progress past the deadline: ProgressDeadlineExceeded.
	d.Status = st
	d.Spec.ProgressDeadlineSeconds = ptr.To[int32](60)
	later := now.Add(2 * time.Minute)
	if after := requeueStuck(d, st, now.Add(30*time.Second)); after != 31*time.Second {
		t.Errorf("requeue after %v", after)
	}
	st = ProgressStatus(d, []*appsv1.ReplicaSet{rs("web-old", 2, 2), mid}, mid, later)
	p = GetCondition(st, appsv1.DeploymentProgressing)
	if p.Reason != TimedOutReason || p.Status != corev1.ConditionFalse || p.Message != `ReplicaSet "web-new" has timed out progressing.` {
		t.Errorf("timed out %+v", p)
	}

	// Too few available: MinimumReplicasUnavailable; RS failures are surfaced.
	d = rolling(4, num(0), num(1))
	bad := rs("web-new", 4, 1)
	bad.Status.Conditions = []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: "quota"}}
	st = ProgressStatus(d, []*appsv1.ReplicaSet{bad}, bad, now)
	if a := GetCondition(st, appsv1.DeploymentAvailable); a.Status != corev1.ConditionFalse || a.Reason != MinimumReplicasUnavailable {
		t.Errorf("available %+v", a)
	}
	if f := GetCondition(st, appsv1.DeploymentReplicaFailure); f == nil || f.Reason != "FailedCreate" {
		t.Errorf("replica failure %+v", f)
	}
	if st.UnavailableReplicas != 3 {
		t.Errorf("unavailable %d", st.UnavailableReplicas)
	}

	// Without a deadline there is no Progressing condition.
	d.Spec.ProgressDeadlineSeconds = ptr.To[int32](2147483647)
	if st = ProgressStatus(d, []*appsv1.ReplicaSet{bad}, bad, now); GetCondition(st, appsv1.DeploymentProgressing) != nil {
		t.Errorf("progressing without deadline")
	}
}

func TestOldPodsRunning(t *testing.T) {
	newRS, old := rs("new", 1, 1), rs("old", 0, 0)
	old.Status.Replicas = 0
	pods := func(phases ...corev1.PodPhase) []*corev1.Pod {
		var out []*corev1.Pod
		for _, p := range phases {
			out = append(out, &corev1.Pod{Status: corev1.PodStatus{Phase: p}})
		}
		return out
	}
	cases := []struct {
		name string
		m    map[types.UID][]*corev1.Pod
		want bool
	}{
		{"none", map[types.UID][]*corev1.Pod{"old": nil, "new": pods(corev1.PodRunning)}, false},
		{"terminal only", map[types.UID][]*corev1.Pod{"old": pods(corev1.PodSucceeded, corev1.PodFailed)}, false},
		{"running", map[types.UID][]*corev1.Pod{"old": pods(corev1.PodRunning)}, true},
		{"unknown", map[types.UID][]*corev1.Pod{"old": pods(corev1.PodUnknown)}, true},
	}
	for _, tc := range cases {
		if got := OldPodsRunning(newRS, []*appsv1.ReplicaSet{old}, tc.m); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
	if !OldPodsRunning(newRS, []*appsv1.ReplicaSet{rs("old", 1, 1)}, nil) {
		t.Errorf("old RS with replicas")
	}
}
