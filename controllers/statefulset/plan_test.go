package statefulset

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

var now = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func newSet(replicas int32, mutate ...func(*appsv1.StatefulSet)) *appsv1.StatefulSet {
	set := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "set-uid", Generation: 3},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(replicas),
			ServiceName: "web",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}},
			PodManagementPolicy: appsv1.OrderedReadyPodManagement,
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](0), MaxUnavailable: ptr.To(intstr.FromInt32(1))}},
		},
	}
	for _, m := range mutate {
		m(set)
	}
	return set
}

type podState int

const (
	pending podState = iota
	running          // Running, not ready
	ready
	failed
	terminating // ready but being deleted
)

func pod(set *appsv1.StatefulSet, ordinal int, rev string, st podState) *corev1.Pod {
	p := NewPod(set, ordinal)
	setRevision(p, rev)
	p.UID = types.UID(fmt.Sprintf("uid-%d", ordinal))
	switch st {
	case pending:
		p.Status.Phase = corev1.PodPending
	case running:
		p.Status.Phase = corev1.PodRunning
	case ready, terminating:
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-time.Minute))}}
		if st == terminating {
			p.DeletionTimestamp = &metav1.Time{Time: now}
		}
	case failed:
		p.Status.Phase = corev1.PodFailed
	}
	return p
}

func input(set *appsv1.StatefulSet, pods ...*corev1.Pod) Input {
	return Input{Set: set, CurrentSet: set, UpdateSet: set, CurrentRevision: "r1", UpdateRevision: "r1", Pods: pods, Now: now}
}

func actions(s Step) []string {
	var out []string
	for _, a := range s.Actions {
		out = append(out, string(a.Type)+" "+a.Pod.Name)
	}
	return out
}

func TestPlan(t *testing.T) {
	parallel := func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement }
	withRevs := func(in Input, cur, upd string) Input { in.CurrentRevision, in.UpdateRevision = cur, upd; return in }
	partition := func(p int32) func(*appsv1.StatefulSet) {
		return func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To(p) }
	}
	s3, s1 := newSet(3), newSet(1)
	tests := []struct {
		name string
		in   Input
		want []string
	}{
		{"ordered: create the first", input(s3), []string{"Create web-0"}},
		{"ordered: wait for web-0 to be ready", input(s3, pod(s3, 0, "r1", running)), nil},
		{"ordered: next once web-0 is ready", input(s3, pod(s3, 0, "r1", ready)), []string{"Create web-1"}},
		{"ordered: minReadySeconds holds web-1", input(newSet(3, func(s *appsv1.StatefulSet) { s.Spec.MinReadySeconds = 120 }),
			pod(s3, 0, "r1", ready)), nil},
		{"ordered: a gap is filled first", input(s3, pod(s3, 1, "r1", ready)), []string{"Create web-0"}},
		{"parallel: all at once", input(newSet(3, parallel)), []string{"Create web-0", "Create web-1", "Create web-2"}},
		{"failed pod is deleted", input(s3, pod(s3, 0, "r1", failed)), []string{"Delete web-0"}},
		{"ordered: scale down from the highest", input(s1, pod(s3, 0, "r1", ready), pod(s3, 1, "r1", ready), pod(s3, 2, "r1", ready)),
			[]string{"Delete web-2"}},
		{"ordered: wait for the terminating one", input(s1, pod(s3, 0, "r1", ready), pod(s3, 1, "r1", ready), pod(s3, 2, "r1", terminating)), nil},
		{"ordered: unhealthy condemned waits unless first unhealthy", input(s1, pod(s3, 0, "r1", ready), pod(s3, 1, "r1", running), pod(s3, 2, "r1", ready)),
			[]string{"Delete web-2"}},
		{"parallel: scale down all", input(newSet(1, parallel), pod(s3, 0, "r1", ready), pod(s3, 1, "r1", ready), pod(s3, 2, "r1", ready)),
			[]string{"Delete web-2", "Delete web-1"}},
		{"rolling update: highest old pod first", withRevs(input(s3, pod(s3, 0, "r1", ready), pod(s3, 1, "r1", ready), pod(s3, 2, "r1", ready)), "r1", "r2"),
			[]string{"Delete web-2"}},
		{"rolling update: next below the updated one", withRevs(input(s3, pod(s3, 0, "r1", ready), pod(s3, 1, "r1", ready), pod(s3, 2, "r2", ready)), "r1", "r2"),
			[]string{"Delete web-1"}},
		{"rolling update: waits for an unhealthy pod", withRevs(input(s3, pod(s3, 0, "r1", ready), pod(s3, 1, "r1", ready), pod(s3, 2, "r2", running)), "r1", "r2"), nil},
		{"rolling update: partition keeps lower ordinals", withRevs(input(newSet(3, partition(2)), pod(s3, 0, "r1", ready), pod(s3, 1, "r1", ready), pod(s3, 2, "r2", ready)), "r1", "r2"), nil},
		{"rolling update: maxUnavailable 2", withRevs(input(newSet(3, func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromInt32(2))
		}), pod(s3, 0, "r1", ready), pod(s3, 1, "r1", ready), pod(s3, 2, "r1", ready)), "r1", "r2"), []string{"Delete web-2", "Delete web-1"}},
		{"OnDelete: no update", withRevs(input(newSet(3, func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
		}), pod(s3, 0, "r1", ready), pod(s3, 1, "r1", ready), pod(s3, 2, "r1", ready)), "r1", "r2"), nil},
		{"identity is restored", input(s1, func() *corev1.Pod { p := pod(s1, 0, "r1", ready); delete(p.Labels, appsv1.PodIndexLabel); return p }()),
			[]string{"UpdateIdentity web-0"}},
		{"deleting set: nothing", input(newSet(3, func(s *appsv1.StatefulSet) { s.DeletionTimestamp = &metav1.Time{Time: now} })), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := actions(Plan(tt.in))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("actions = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPlanStatus(t *testing.T) {
	s := newSet(3)
	in := input(s, pod(s, 0, "r1", ready), pod(s, 1, "r2", ready), pod(s, 2, "r2", running))
	in.CurrentRevision, in.UpdateRevision, in.CollisionCount = "r1", "r2", 2
	st := Plan(in).Status
	want := appsv1.StatefulSetStatus{ObservedGeneration: 3, Replicas: 3, ReadyReplicas: 2, AvailableReplicas: 2, CurrentReplicas: 1, UpdatedReplicas: 2,
		CurrentRevision: "r1", UpdateRevision: "r2", CollisionCount: ptr.To[int32](2)}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("status = %+v\nwant %+v", st, want)
	}
	// Complete: every replica updated and ready.
	done := appsv1.StatefulSetStatus{Replicas: 2, ReadyReplicas: 2, UpdatedReplicas: 2, CurrentReplicas: 0, CurrentRevision: "r1", UpdateRevision: "r2"}
	CompleteRollingUpdate(s, &done)
	if done.CurrentRevision != "r2" || done.CurrentReplicas != 2 {
		t.Errorf("completed = %+v", done)
	}
}

func TestNewVersionedPod(t *testing.T) {
	cur := newSet(3, func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To[int32](2) })
	upd := cur.DeepCopy()
	upd.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	for ord, want := range map[int]string{0: "nginx", 1: "nginx", 2: "nginx:2"} {
		p := newVersionedPod(cur, upd, "r1", "r2", ord)
		if p.Spec.Containers[0].Image != want {
			t.Errorf("ordinal %d: image %s, want %s", ord, p.Spec.Containers[0].Image, want)
		}
	}
}

func TestNewPod(t *testing.T) {
	set := newSet(2, func(s *appsv1.StatefulSet) {
		s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}}
		s.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}, {Name: "tmp"}}
	})
	p := NewPod(set, 1)
	if p.Name != "web-1" || p.Spec.Hostname != "web-1" || p.Spec.Subdomain != "web" {
		t.Errorf("identity: %s %s %s", p.Name, p.Spec.Hostname, p.Spec.Subdomain)
	}
	if p.Labels[appsv1.StatefulSetPodNameLabel] != "web-1" || p.Labels[appsv1.PodIndexLabel] != "1" || p.Labels["app"] != "web" {
		t.Errorf("labels: %v", p.Labels)
	}
	if ref := metav1.GetControllerOf(p); ref == nil || ref.UID != set.UID || ref.Kind != "StatefulSet" {
		t.Errorf("controller: %v", ref)
	}
	if len(p.Spec.Volumes) != 2 || p.Spec.Volumes[0].Name != "tmp" || p.Spec.Volumes[1].PersistentVolumeClaim == nil ||
		p.Spec.Volumes[1].PersistentVolumeClaim.ClaimName != "data-web-1" {
		t.Errorf("volumes: %+v", p.Spec.Volumes)
	}
	claims := Claims(set, p)
	if c := claims["data"]; c.Name != "data-web-1" || c.Namespace != "ns" || c.Labels["app"] != "web" {
		t.Errorf("claim: %+v", c.ObjectMeta)
	}
	if !identityMatches(set, p) || !storageMatches(set, p) {
		t.Error("a new pod does not match its identity or storage")
	}
	if parent, ord := ParentAndOrdinal("my-web-12"); parent != "my-web" || ord != 12 {
		t.Errorf("ParentAndOrdinal = %s %d", parent, ord)
	}
	if _, ord := ParentAndOrdinal("web"); ord != -1 {
		t.Errorf("ParentAndOrdinal(web) = %d", ord)
	}
}

func TestClaimOwnerRefs(t *testing.T) {
	policy := func(deleted, scaled appsv1.PersistentVolumeClaimRetentionPolicyType) *appsv1.StatefulSet {
		return newSet(1, func(s *appsv1.StatefulSet) {
			s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: deleted, WhenScaled: scaled}
		})
	}
	const R, D = appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	s := newSet(3)
	tests := []struct {
		name    string
		set     *appsv1.StatefulSet
		ordinal int
		want    string // owner kinds
	}{
		{"retain, retain", policy(R, R), 0, ""},
		{"whenDeleted Delete: the set", policy(D, R), 0, "StatefulSet"},
		{"whenScaled Delete, in range: none", policy(R, D), 0, ""},
		{"whenScaled Delete, scaled down: the pod", policy(R, D), 2, "Pod"},
		{"both Delete, in range: the set", policy(D, D), 0, "StatefulSet"},
		{"both Delete, scaled down: the pod", policy(D, D), 2, "Pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pod(s, tt.ordinal, "r1", ready)
			// Start from the opposite: a stale set reference and a reference to an older pod.
			start := []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: p.Name, UID: "old"}, {APIVersion: "v1", Kind: "ConfigMap", Name: "keep", UID: "x"}}
			refs, _ := ClaimOwnerRefs(tt.set, p, start)
			kinds := ""
			for _, r := range refs {
				if r.Kind == "ConfigMap" {
					continue
				}
				kinds += r.Kind
				if (r.Kind == "Pod" && r.UID != p.UID) || (r.Kind == "StatefulSet" && r.UID != tt.set.UID) {
					t.Errorf("stale reference %+v", r)
				}
			}
			if kinds != tt.want {
				t.Errorf("owners %q, want %q", kinds, tt.want)
			}
			if _, changed := ClaimOwnerRefs(tt.set, p, refs); changed {
				t.Error("not idempotent")
			}
		})
	}
}

func TestRevisionsToDelete(t *testing.T) {
	set := newSet(1, func(s *appsv1.StatefulSet) { s.Spec.RevisionHistoryLimit = ptr.To[int32](1) })
	revs := []*appsv1.ControllerRevision{}
	for i := 1; i <= 5; i++ {
		revs = append(revs, &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("r%d", i)}, Revision: int64(i)})
	}
	got := RevisionsToDelete(set, []*corev1.Pod{pod(set, 0, "r2", ready)}, revs, "r4", "r5")
	// r2 (a pod's), r4 and r5 live; of r1 and r3 one is kept.
	if len(got) != 1 || got[0].Name != "r1" {
		t.Errorf("deleted %v", got)
	}
}

func TestMaxUnavailable(t *testing.T) {
	for _, tt := range []struct {
		v    *intstr.IntOrString
		n    int
		want int
	}{{nil, 5, 1}, {ptr.To(intstr.FromInt32(3)), 5, 3}, {ptr.To(intstr.FromString("50%")), 5, 3}, {ptr.To(intstr.FromString("10%")), 3, 1}} {
		if got := MaxUnavailable(tt.v, tt.n); got != tt.want {
			t.Errorf("MaxUnavailable(%v, %d) = %d, want %d", tt.v, tt.n, got, tt.want)
		}
	}
}
