package defaults

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func intOrStrPtr(v intstr.IntOrString) *intstr.IntOrString { return &v }

// templateWithDefaults is a minimal pod template and the same template after PodSpec defaulting.
func templateWithDefaults(labels map[string]string) (corev1.PodTemplateSpec, corev1.PodTemplateSpec) {
	in := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1"}}},
	}
	out := *in.DeepCopy()
	defaultPodTemplateSpec(&out)
	return in, out
}

func TestWorkloadDefaults(t *testing.T) {
	tmpl, tmplDefaulted := templateWithDefaults(map[string]string{"app": "web"})
	rollingDS := func(maxUnavailable, maxSurge intstr.IntOrString) appsv1.DaemonSetUpdateStrategy {
		return appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{
			MaxUnavailable: &maxUnavailable, MaxSurge: &maxSurge,
		}}
	}
	retain := &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
	rollingSS := func(partition int32, maxUnavailable intstr.IntOrString) appsv1.StatefulSetUpdateStrategy {
		return appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{
			Partition: &partition, MaxUnavailable: &maxUnavailable,
		}}
	}
	filesystem := corev1.PersistentVolumeFilesystem
	block := corev1.PersistentVolumeBlock

	cases := []struct {
		name     string
		in, want runtime.Object
	}{
		{"daemonset empty",
			&appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: tmpl}},
			&appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: tmplDefaulted, UpdateStrategy: rollingDS(intstr.FromInt32(1), intstr.FromInt32(0)), RevisionHistoryLimit: ptrTo(int32(10))}}},
		{"daemonset partial rollingUpdate kept",
			&appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: tmpl, UpdateStrategy: appsv1.DaemonSetUpdateStrategy{RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxSurge: intOrStrPtr(intstr.FromString("10%"))}}, RevisionHistoryLimit: ptrTo(int32(2))}},
			&appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: tmplDefaulted, UpdateStrategy: rollingDS(intstr.FromInt32(1), intstr.FromString("10%")), RevisionHistoryLimit: ptrTo(int32(2))}}},
		{"daemonset OnDelete gets no rollingUpdate",
			&appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: tmpl, UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}}},
			&appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: tmplDefaulted, UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}, RevisionHistoryLimit: ptrTo(int32(10))}}},
		{"statefulset empty",
			&appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: tmpl}},
			&appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: tmplDefaulted, Replicas: ptrTo(int32(1)), RevisionHistoryLimit: ptrTo(int32(10)),
				PodManagementPolicy: appsv1.OrderedReadyPodManagement, UpdateStrategy: rollingSS(0, intstr.FromInt32(1)), PersistentVolumeClaimRetentionPolicy: retain}}},
		// With the type given, upstream adds no rollingUpdate block.
		{"statefulset RollingUpdate without block",
			&appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: tmpl, UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType}}},
			&appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: tmplDefaulted, Replicas: ptrTo(int32(1)), RevisionHistoryLimit: ptrTo(int32(10)),
				PodManagementPolicy: appsv1.OrderedReadyPodManagement, UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType}, PersistentVolumeClaimRetentionPolicy: retain}}},
		{"statefulset values kept",
			&appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: tmpl, Replicas: ptrTo(int32(0)), RevisionHistoryLimit: ptrTo(int32(3)), PodManagementPolicy: appsv1.ParallelPodManagement,
				UpdateStrategy:                       appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptrTo(int32(2))}},
				PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenScaled: appsv1.DeletePersistentVolumeClaimRetentionPolicyType}}},
			&appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: tmplDefaulted, Replicas: ptrTo(int32(0)), RevisionHistoryLimit: ptrTo(int32(3)), PodManagementPolicy: appsv1.ParallelPodManagement,
				UpdateStrategy: rollingSS(2, intstr.FromInt32(1)),
				PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
					WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.DeletePersistentVolumeClaimRetentionPolicyType}}}},
		{"statefulset volume claim templates",
			&appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: tmpl, UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType},
				VolumeClaimTemplates: []corev1.PersistentVolumeClaim{
					{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1.0001m")}}}},
					{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeMode: &block}},
				}}},
			&appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: tmplDefaulted, Replicas: ptrTo(int32(1)), RevisionHistoryLimit: ptrTo(int32(10)),
				PodManagementPolicy: appsv1.OrderedReadyPodManagement, UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}, PersistentVolumeClaimRetentionPolicy: retain,
				VolumeClaimTemplates: []corev1.PersistentVolumeClaim{
					{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeMode: &filesystem,
						Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2m")}}},
						Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}},
					{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeMode: &block}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}},
				}}}},
		{"replicationcontroller selector and labels from template",
			&corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{Template: &tmpl}},
			&corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.ReplicationControllerSpec{Replicas: ptrTo(int32(1)), Selector: map[string]string{"app": "web"}, Template: &tmplDefaulted}}},
		{"replicationcontroller own selector and labels kept",
			&corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "a"}}, Spec: corev1.ReplicationControllerSpec{Replicas: ptrTo(int32(0)), Selector: map[string]string{"app": "web"}, Template: &tmpl}},
			&corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "a"}},
				Spec: corev1.ReplicationControllerSpec{Replicas: ptrTo(int32(0)), Selector: map[string]string{"app": "web"}, Template: &tmplDefaulted}}},
		{"replicationcontroller without template",
			&corev1.ReplicationController{},
			&corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{Replicas: ptrTo(int32(1))}}},
		{"podtemplate",
			&corev1.PodTemplate{Template: tmpl},
			&corev1.PodTemplate{Template: tmplDefaulted}},
		{"priorityclass",
			&schedulingv1.PriorityClass{Value: 5},
			&schedulingv1.PriorityClass{Value: 5, PreemptionPolicy: ptrTo(corev1.PreemptLowerPriority)}},
		{"priorityclass Never kept",
			&schedulingv1.PriorityClass{PreemptionPolicy: ptrTo(corev1.PreemptNever)},
			&schedulingv1.PriorityClass{PreemptionPolicy: ptrTo(corev1.PreemptNever)}},
		// Neither has defaults upstream.
		{"poddisruptionbudget",
			&policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: intOrStrPtr(intstr.FromInt32(1))}},
			&policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: intOrStrPtr(intstr.FromInt32(1))}}},
		{"controllerrevision",
			&appsv1.ControllerRevision{Revision: 2},
			&appsv1.ControllerRevision{Revision: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.DeepCopyObject()
			Default(got)
			if !apiequality.Semantic.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			// Defaulting twice changes nothing.
			again := got.DeepCopyObject()
			Default(again)
			if !apiequality.Semantic.DeepEqual(again, got) {
				t.Errorf("defaulting is not idempotent: %+v", again)
			}
		})
	}
}
