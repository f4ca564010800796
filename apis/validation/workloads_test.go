package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func ptr[T any](v T) *T { return &v }

func intOrStr(v intstr.IntOrString) *intstr.IntOrString { return &v }

func webSelector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
}

func validDaemonSet() *appsv1.DaemonSet {
	return defaulted(&appsv1.DaemonSet{
		ObjectMeta: objMeta("agent"),
		Spec: appsv1.DaemonSetSpec{
			Selector: webSelector(),
			Template: validTemplate(map[string]string{"app": "web"}),
		},
	})
}

func validStatefulSet() *appsv1.StatefulSet {
	return defaulted(&appsv1.StatefulSet{
		ObjectMeta: objMeta("db"),
		Spec: appsv1.StatefulSetSpec{
			ServiceName: "db",
			Selector:    webSelector(),
			Template:    validTemplate(map[string]string{"app": "web"}),
		},
	})
}

func validClaimTemplate(name string) corev1.PersistentVolumeClaim {
	return corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

func validReplicationController() *corev1.ReplicationController {
	t := validTemplate(map[string]string{"app": "web"})
	return defaulted(&corev1.ReplicationController{ObjectMeta: objMeta("web"), Spec: corev1.ReplicationControllerSpec{Template: &t}})
}

func TestDaemonSetCreate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*appsv1.DaemonSet)
		want   []want
	}{
		{"valid", func(*appsv1.DaemonSet) {}, nil},
		{"valid OnDelete", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
		}, nil},
		{"valid surge", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: intOrStr(intstr.FromInt32(0)), MaxSurge: intOrStr(intstr.FromString("20%"))}
		}, nil},
		// A nil selector matches nothing: upstream reports it through the template labels only.
		{"nil selector", func(ds *appsv1.DaemonSet) { ds.Spec.Selector = nil }, []want{
			{"spec.template.metadata.labels", field.ErrorTypeInvalid, "`selector` does not match template `labels`"},
		}},
		{"empty selector", func(ds *appsv1.DaemonSet) { ds.Spec.Selector = &metav1.LabelSelector{} }, []want{
			{"spec.selector", field.ErrorTypeInvalid, "empty selector is invalid for daemonset"},
		}},
		{"selector mismatch", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Labels = map[string]string{"app": "x"} }, []want{
			{"spec.template.metadata.labels", field.ErrorTypeInvalid, "`selector` does not match template `labels`"},
		}},
		{"bad selector operator", func(ds *appsv1.DaemonSet) {
			ds.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus"}}}
		}, []want{{"spec.selector.matchExpressions[0].operator", field.ErrorTypeInvalid, "not a valid selector operator"}}},
		{"restartPolicy OnFailure", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure }, []want{
			{"spec.template.spec.restartPolicy", field.ErrorTypeNotSupported, `supported values: "Always"`},
		}},
		{"activeDeadlineSeconds", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.ActiveDeadlineSeconds = ptr(int64(5)) }, []want{
			{"spec.template.spec.activeDeadlineSeconds", field.ErrorTypeForbidden, "activeDeadlineSeconds in DaemonSet is not Supported"},
		}},
		{"template image required", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.Containers[0].Image = "" }, []want{
			{"spec.template.spec.containers[0].image", field.ErrorTypeRequired, ""},
		}},
		{"negative minReadySeconds", func(ds *appsv1.DaemonSet) { ds.Spec.MinReadySeconds = -1 }, []want{
			{"spec.minReadySeconds", field.ErrorTypeInvalid, "must be greater than or equal to 0"},
		}},
		{"negative revisionHistoryLimit", func(ds *appsv1.DaemonSet) { ds.Spec.RevisionHistoryLimit = int32p(-1) }, []want{
			{"spec.revisionHistoryLimit", field.ErrorTypeInvalid, "must be greater than or equal to 0"},
		}},
		{"both zero", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: intOrStr(intstr.FromInt32(0)), MaxSurge: intOrStr(intstr.FromString("0%"))}
		}, []want{{"spec.updateStrategy.rollingUpdate.maxUnavailable", field.ErrorTypeRequired, "cannot be 0 when maxSurge is 0"}}},
		{"both set", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge = intOrStr(intstr.FromInt32(1))
		}, []want{{"spec.updateStrategy.rollingUpdate.maxSurge", field.ErrorTypeInvalid, "may not be set when maxUnavailable is non-zero"}}},
		{"maxUnavailable over 100%", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = intOrStr(intstr.FromString("101%"))
		}, []want{{"spec.updateStrategy.rollingUpdate.maxUnavailable", field.ErrorTypeInvalid, "must not be greater than 100%"}}},
		{"negative maxUnavailable", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = intOrStr(intstr.FromInt32(-1))
		}, []want{
			// -1 is non-zero, so "not both zero" holds and only the sign is reported.
			{"spec.updateStrategy.rollingUpdate.maxUnavailable", field.ErrorTypeInvalid, "must be greater than or equal to 0"},
		}},
		{"bad percent", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = intOrStr(intstr.FromString("x%"))
		}, []want{
			{"spec.updateStrategy.rollingUpdate.maxUnavailable", field.ErrorTypeInvalid, "a valid percent string must be"},
			// An invalid percentage counts as 0, so both are 0.
			{"spec.updateStrategy.rollingUpdate.maxUnavailable", field.ErrorTypeRequired, "cannot be 0 when maxSurge is 0"},
		}},
		{"rollingUpdate missing", func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.RollingUpdate = nil }, []want{
			{"spec.updateStrategy.rollingUpdate", field.ErrorTypeRequired, ""},
		}},
		{"unknown strategy", func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.Type = "Sometimes" }, []want{
			{"spec.updateStrategy", field.ErrorTypeNotSupported, `supported values: "RollingUpdate", "OnDelete"`},
		}},
		{"bad name", func(ds *appsv1.DaemonSet) { ds.Name = "Agent_1" }, []want{{"metadata.name", field.ErrorTypeInvalid, ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds := validDaemonSet()
			tc.mutate(ds)
			checkErrs(t, ValidateCreate(ds), tc.want)
		})
	}
}

func TestDaemonSetUpdate(t *testing.T) {
	old := validDaemonSet()
	ds := old.DeepCopy()
	ds.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
	ds.Spec.MinReadySeconds = 5
	checkErrs(t, ValidateUpdate(ds, old), nil)

	ds = old.DeepCopy()
	ds.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "v": "2"}}
	ds.Spec.Template.Labels = map[string]string{"app": "web", "v": "2"}
	checkErrs(t, ValidateUpdate(ds, old), []want{{"spec.selector", field.ErrorTypeInvalid, "field is immutable"}})
}

func TestDaemonSetStatusUpdate(t *testing.T) {
	old := validDaemonSet()
	ds := old.DeepCopy()
	ds.Status = appsv1.DaemonSetStatus{CurrentNumberScheduled: 2, DesiredNumberScheduled: 2, NumberReady: 2, NumberAvailable: 2, UpdatedNumberScheduled: 2, ObservedGeneration: 1, CollisionCount: int32p(1)}
	checkErrs(t, ValidateStatusUpdate(ds, old), nil)

	ds.Status = appsv1.DaemonSetStatus{CurrentNumberScheduled: -1, NumberMisscheduled: -1, DesiredNumberScheduled: -1, NumberReady: -1,
		ObservedGeneration: -1, UpdatedNumberScheduled: -1, NumberAvailable: -1, NumberUnavailable: -1, CollisionCount: int32p(-1)}
	var wants []want
	for _, f := range []string{"currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady", "observedGeneration",
		"updatedNumberScheduled", "numberAvailable", "numberUnavailable", "collisionCount"} {
		wants = append(wants, want{"status." + f, field.ErrorTypeInvalid, "must be greater than or equal to 0"})
	}
	checkErrs(t, ValidateStatusUpdate(ds, old), wants)

	old.Status.CollisionCount = int32p(3)
	ds = old.DeepCopy()
	ds.Status.CollisionCount = int32p(2)
	checkErrs(t, ValidateStatusUpdate(ds, old), []want{{"status.collisionCount", field.ErrorTypeInvalid, "cannot be decremented"}})
}

func TestStatefulSetCreate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*appsv1.StatefulSet)
		want   []want
	}{
		{"valid", func(*appsv1.StatefulSet) {}, nil},
		// serviceName is optional since 1.32 (the pods get no DNS subdomain then).
		{"valid without serviceName", func(ss *appsv1.StatefulSet) { ss.Spec.ServiceName = "" }, nil},
		{"valid Parallel OnDelete", func(ss *appsv1.StatefulSet) {
			ss.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
			ss.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
		}, nil},
		{"valid claim templates", func(ss *appsv1.StatefulSet) {
			ss.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{validClaimTemplate("data")}
			ss.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, nil},
		// The controller overwrites hostname and subdomain, so they are not validated.
		{"hostname ignored", func(ss *appsv1.StatefulSet) { ss.Spec.Template.Spec.Hostname = "Not_A_Label" }, nil},
		{"bad serviceName", func(ss *appsv1.StatefulSet) { ss.Spec.ServiceName = "db.svc" }, []want{
			{"spec.serviceName", field.ErrorTypeInvalid, "must not contain dots"},
		}},
		{"name must be a DNS label", func(ss *appsv1.StatefulSet) { ss.Name = "db.v1" }, []want{
			{"metadata.name", field.ErrorTypeInvalid, "must not contain dots"},
		}},
		{"selector required", func(ss *appsv1.StatefulSet) { ss.Spec.Selector = nil }, []want{
			{"spec.selector", field.ErrorTypeRequired, ""},
			{"spec.template.metadata.labels", field.ErrorTypeInvalid, "`selector` does not match template `labels`"},
		}},
		{"empty selector", func(ss *appsv1.StatefulSet) { ss.Spec.Selector = &metav1.LabelSelector{} }, []want{
			{"spec.selector", field.ErrorTypeInvalid, "empty selector is invalid for statefulset"},
		}},
		{"selector mismatch", func(ss *appsv1.StatefulSet) { ss.Spec.Template.Labels = map[string]string{"app": "x"} }, []want{
			{"spec.template.metadata.labels", field.ErrorTypeInvalid, "`selector` does not match template `labels`"},
		}},
		{"podManagementPolicy empty", func(ss *appsv1.StatefulSet) { ss.Spec.PodManagementPolicy = "" }, []want{
			{"spec.podManagementPolicy", field.ErrorTypeRequired, ""},
		}},
		{"podManagementPolicy unknown", func(ss *appsv1.StatefulSet) { ss.Spec.PodManagementPolicy = "Random" }, []want{
			{"spec.podManagementPolicy", field.ErrorTypeInvalid, "must be 'OrderedReady' or 'Parallel'"},
		}},
		{"updateStrategy empty", func(ss *appsv1.StatefulSet) { ss.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{} }, []want{
			{"spec.updateStrategy", field.ErrorTypeRequired, ""},
		}},
		{"updateStrategy unknown", func(ss *appsv1.StatefulSet) { ss.Spec.UpdateStrategy.Type = "Recreate" }, []want{
			{"spec.updateStrategy", field.ErrorTypeInvalid, "must be 'RollingUpdate' or 'OnDelete'"},
		}},
		{"OnDelete with rollingUpdate", func(ss *appsv1.StatefulSet) { ss.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType }, []want{
			{"spec.updateStrategy.rollingUpdate", field.ErrorTypeInvalid, "only allowed for updateStrategy 'RollingUpdate'"},
		}},
		{"negative partition", func(ss *appsv1.StatefulSet) { ss.Spec.UpdateStrategy.RollingUpdate.Partition = int32p(-1) }, []want{
			{"spec.updateStrategy.rollingUpdate.partition", field.ErrorTypeInvalid, "must be greater than or equal to 0"},
		}},
		{"maxUnavailable 0", func(ss *appsv1.StatefulSet) {
			ss.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = intOrStr(intstr.FromInt32(0))
		}, []want{{"spec.updateStrategy.rollingUpdate.maxUnavailable", field.ErrorTypeInvalid, "cannot be 0"}}},
		{"maxUnavailable over 100%", func(ss *appsv1.StatefulSet) {
			ss.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = intOrStr(intstr.FromString("150%"))
		}, []want{{"spec.updateStrategy.rollingUpdate.maxUnavailable", field.ErrorTypeInvalid, "must not be greater than 100%"}}},
		{"negative replicas", func(ss *appsv1.StatefulSet) { ss.Spec.Replicas = int32p(-1) }, []want{
			{"spec.replicas", field.ErrorTypeInvalid, "must be greater than or equal to 0"},
		}},
		{"negative minReadySeconds", func(ss *appsv1.StatefulSet) { ss.Spec.MinReadySeconds = -1 }, []want{
			{"spec.minReadySeconds", field.ErrorTypeInvalid, "must be greater than or equal to 0"},
		}},
		{"negative ordinals.start", func(ss *appsv1.StatefulSet) { ss.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: -2} }, []want{
			{"spec.ordinals.start", field.ErrorTypeInvalid, "must be greater than or equal to 0"},
		}},
		{"retention policy", func(ss *appsv1.StatefulSet) {
			ss.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: "Keep", WhenScaled: "Delete"}
		}, []want{{"spec.persistentVolumeClaimRetentionPolicy.whenDeleted", field.ErrorTypeNotSupported, `supported values: "Retain", "Delete"`}}},
		{"restartPolicy Never", func(ss *appsv1.StatefulSet) { ss.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever }, []want{
			{"spec.template.spec.restartPolicy", field.ErrorTypeNotSupported, `supported values: "Always"`},
		}},
		{"activeDeadlineSeconds", func(ss *appsv1.StatefulSet) { ss.Spec.Template.Spec.ActiveDeadlineSeconds = ptr(int64(1)) }, []want{
			{"spec.template.spec.activeDeadlineSeconds", field.ErrorTypeForbidden, "activeDeadlineSeconds in StatefulSet is not Supported"},
		}},
		// Labels are checked twice upstream (the pod template and the StatefulSet's own check).
		{"bad template label", func(ss *appsv1.StatefulSet) { ss.Spec.Template.Labels["bad key"] = "v" }, []want{
			{"spec.template.labels", field.ErrorTypeInvalid, "name part must consist of"},
			{"spec.template.labels", field.ErrorTypeInvalid, "name part must consist of"},
		}},
		{"claim template without access modes or storage", func(ss *appsv1.StatefulSet) {
			ss.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}
		}, []want{
			{"spec.volumeClaimTemplates[0].spec.accessModes", field.ErrorTypeRequired, "at least 1 access mode is required"},
			{"spec.volumeClaimTemplates[0].spec.resources[storage]", field.ErrorTypeRequired, ""},
		}},
		{"claim template bad access mode and zero storage", func(ss *appsv1.StatefulSet) {
			c := validClaimTemplate("data")
			c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"ReadAlways"}
			c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("0")
			ss.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{c}
		}, []want{
			{"spec.volumeClaimTemplates[0].spec.accessModes", field.ErrorTypeNotSupported, `supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"`},
			{"spec.volumeClaimTemplates[0].spec.resources[storage]", field.ErrorTypeInvalid, "must be greater than zero"},
		}},
		{"claim template ReadWriteOncePod mixed", func(ss *appsv1.StatefulSet) {
			c := validClaimTemplate("data")
			c.Spec.AccessModes = append(c.Spec.AccessModes, corev1.ReadWriteOncePod)
			c.Spec.StorageClassName = ptr("Fast_Disks")
			ss.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{c}
		}, []want{
			{"spec.volumeClaimTemplates[0].spec.accessModes", field.ErrorTypeForbidden, "may not use ReadWriteOncePod with other access modes"},
			{"spec.volumeClaimTemplates[0].spec.storageClassName", field.ErrorTypeInvalid, ""},
		}},
		{"claim template data source", func(ss *appsv1.StatefulSet) {
			c := validClaimTemplate("data")
			c.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "VolumeSnapshot", Name: "snap"}
			ss.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{c}
		}, []want{{"spec.volumeClaimTemplates[0].spec.dataSource", field.ErrorTypeInvalid, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"}}},
		// A mount of a claim template's volume is fine; a mount of an unknown volume is not.
		{"mount of unknown volume", func(ss *appsv1.StatefulSet) {
			ss.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, []want{{"spec.template.spec.containers[0].volumeMounts[0].name", field.ErrorTypeNotFound, ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ss := validStatefulSet()
			tc.mutate(ss)
			checkErrs(t, ValidateCreate(ss), tc.want)
		})
	}
}

func TestStatefulSetUpdate(t *testing.T) {
	old := validStatefulSet()
	old.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{validClaimTemplate("data")}

	// What 1.37 lets change.
	ss := old.DeepCopy()
	ss.Spec.Replicas = int32p(5)
	ss.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	ss.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	ss.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 3}
	ss.Spec.MinReadySeconds = 10
	ss.Spec.RevisionHistoryLimit = int32p(2)
	ss.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	checkErrs(t, ValidateUpdate(ss, old), nil)

	ss = old.DeepCopy()
	ss.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "v": "2"}}
	ss.Spec.Template.Labels = map[string]string{"app": "web", "v": "2"}
	ss.Spec.ServiceName = "other"
	ss.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
	ss.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
	checkErrs(t, ValidateUpdate(ss, old), []want{
		{"spec.selector", field.ErrorTypeInvalid, "field is immutable"},
		{"spec.volumeClaimTemplates", field.ErrorTypeInvalid, "field is immutable"},
		{"spec.serviceName", field.ErrorTypeInvalid, "field is immutable"},
		{"spec.podManagementPolicy", field.ErrorTypeInvalid, "field is immutable"},
	})

	// A stored invalid serviceName and claim templates are tolerated on update.
	bad := old.DeepCopy()
	bad.Spec.ServiceName = "Bad.Name"
	bad.Spec.VolumeClaimTemplates[0].Spec.AccessModes = nil
	ss = bad.DeepCopy()
	ss.Spec.Replicas = int32p(2)
	checkErrs(t, ValidateUpdate(ss, bad), nil)

	// A stored invalid pod template is tolerated as well, but the rest is still checked.
	bad = old.DeepCopy()
	bad.Spec.Template.Spec.Containers[0].Image = ""
	ss = bad.DeepCopy()
	ss.Spec.Replicas = int32p(-1)
	checkErrs(t, ValidateUpdate(ss, bad), []want{{"spec.replicas", field.ErrorTypeInvalid, ""}})
	ss = old.DeepCopy()
	ss.Spec.Template.Spec.Containers[0].Image = ""
	checkErrs(t, ValidateUpdate(ss, old), []want{{"spec.template.spec.containers[0].image", field.ErrorTypeRequired, ""}})
}

func TestStatefulSetStatusUpdate(t *testing.T) {
	old := validStatefulSet()
	ss := old.DeepCopy()
	ss.Status = appsv1.StatefulSetStatus{Replicas: 2, ReadyReplicas: 2, AvailableReplicas: 2, CurrentReplicas: 2, UpdatedReplicas: 2}
	checkErrs(t, ValidateStatusUpdate(ss, old), nil)
	ss.Status = appsv1.StatefulSetStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 2, CurrentReplicas: 3, ObservedGeneration: -1}
	checkErrs(t, ValidateStatusUpdate(ss, old), []want{
		{"status.observedGeneration", field.ErrorTypeInvalid, "must be greater than or equal to 0"},
		{"status.currentReplicas", field.ErrorTypeInvalid, "cannot be greater than status.replicas"},
		{"status.availableReplicas", field.ErrorTypeInvalid, "cannot be greater than status.replicas"},
		{"status.availableReplicas", field.ErrorTypeInvalid, "cannot be greater than status.readyReplicas"},
	})
	old.Status.CollisionCount = int32p(1)
	ss = old.DeepCopy()
	ss.Status.CollisionCount = nil
	checkErrs(t, ValidateStatusUpdate(ss, old), []want{{"status.collisionCount", field.ErrorTypeInvalid, "cannot be decremented"}})
}

func TestControllerRevision(t *testing.T) {
	rev := func(raw string, n int64) *appsv1.ControllerRevision {
		r := &appsv1.ControllerRevision{ObjectMeta: objMeta("web-6d4cf56db6"), Revision: n}
		if raw != "" {
			r.Data = runtime.RawExtension{Raw: []byte(raw)}
		}
		return r
	}
	for _, tc := range []struct {
		name string
		obj  *appsv1.ControllerRevision
		want []want
	}{
		{"valid", rev(`{"spec":{"template":{}}}`, 1), nil},
		{"negative revision", rev(`{}`, -1), []want{{"revision", field.ErrorTypeInvalid, "must be greater than or equal to 0"}}},
		{"no data", rev("", 1), []want{{"data", field.ErrorTypeRequired, "data is mandatory"}}},
		{"null data", rev("null", 1), []want{{"data", field.ErrorTypeRequired, "data is mandatory"}}},
		{"array data", rev("[1]", 1), []want{{"data", field.ErrorTypeRequired, "data must be a valid JSON object"}}},
		{"bad json", rev("{", 1), []want{{"data", field.ErrorTypeInvalid, "error parsing data: "}}},
		{"object data", &appsv1.ControllerRevision{ObjectMeta: objMeta("r"), Data: runtime.RawExtension{Object: validPod()}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, ValidateCreate(tc.obj), tc.want) })
	}

	old := rev(`{"a":1}`, 1)
	r := old.DeepCopy()
	r.Labels = map[string]string{"x": "y"}
	checkErrs(t, ValidateUpdate(r, old), nil)
	r.Data.Raw = []byte(`{"a":2}`)
	r.Revision = -1
	checkErrs(t, ValidateUpdate(r, old), []want{
		{"revision", field.ErrorTypeInvalid, ""},
		{"data", field.ErrorTypeInvalid, "field is immutable"},
	})
}

func TestReplicationController(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*corev1.ReplicationController)
		want   []want
	}{
		{"valid", func(*corev1.ReplicationController) {}, nil},
		{"selector required", func(rc *corev1.ReplicationController) { rc.Spec.Selector = nil }, []want{{"spec.selector", field.ErrorTypeRequired, ""}}},
		{"selector mismatch", func(rc *corev1.ReplicationController) { rc.Spec.Selector = map[string]string{"app": "x"} }, []want{
			{"spec.template.metadata.labels", field.ErrorTypeInvalid, "`selector` does not match template `labels`"},
		}},
		{"replicas required", func(rc *corev1.ReplicationController) { rc.Spec.Replicas = nil }, []want{{"spec.replicas", field.ErrorTypeRequired, ""}}},
		{"negative replicas", func(rc *corev1.ReplicationController) { rc.Spec.Replicas = int32p(-1) }, []want{
			{"spec.replicas", field.ErrorTypeInvalid, "must be greater than or equal to 0"},
		}},
		{"negative minReadySeconds", func(rc *corev1.ReplicationController) { rc.Spec.MinReadySeconds = -1 }, []want{
			{"spec.minReadySeconds", field.ErrorTypeInvalid, "must be greater than or equal to 0"},
		}},
		{"template required", func(rc *corev1.ReplicationController) { rc.Spec.Template = nil }, []want{{"spec.template", field.ErrorTypeRequired, ""}}},
		{"restartPolicy Never", func(rc *corev1.ReplicationController) {
			rc.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
		}, []want{
			{"spec.template.spec.restartPolicy", field.ErrorTypeNotSupported, `supported values: "Always"`},
		}},
		{"activeDeadlineSeconds", func(rc *corev1.ReplicationController) { rc.Spec.Template.Spec.ActiveDeadlineSeconds = ptr(int64(1)) }, []want{
			{"spec.template.spec.activeDeadlineSeconds", field.ErrorTypeForbidden, "activeDeadlineSeconds in ReplicationController is not Supported"},
		}},
		{"template container name", func(rc *corev1.ReplicationController) { rc.Spec.Template.Spec.Containers[0].Name = "" }, []want{
			{"spec.template.spec.containers[0].name", field.ErrorTypeRequired, ""},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := validReplicationController()
			tc.mutate(rc)
			checkErrs(t, ValidateCreate(rc), tc.want)
		})
	}

	// The selector of a ReplicationController may change.
	old := validReplicationController()
	rc := old.DeepCopy()
	rc.Spec.Selector = map[string]string{"app": "web", "v": "2"}
	rc.Spec.Template.Labels = map[string]string{"app": "web", "v": "2"}
	checkErrs(t, ValidateUpdate(rc, old), nil)
	rc.Spec.Replicas = int32p(-3)
	checkErrs(t, ValidateUpdate(rc, old), []want{{"spec.replicas", field.ErrorTypeInvalid, ""}})

	rc = old.DeepCopy()
	rc.Status = corev1.ReplicationControllerStatus{Replicas: 1, FullyLabeledReplicas: 2, ReadyReplicas: 1, AvailableReplicas: 1}
	checkErrs(t, ValidateStatusUpdate(rc, old), []want{{"status.fullyLabeledReplicas", field.ErrorTypeInvalid, "cannot be greater than status.replicas"}})
	rc.Status = corev1.ReplicationControllerStatus{ObservedGeneration: -1}
	checkErrs(t, ValidateStatusUpdate(rc, old), []want{{"status.observedGeneration", field.ErrorTypeInvalid, ""}})
}

func TestPodTemplate(t *testing.T) {
	pt := defaulted(&corev1.PodTemplate{ObjectMeta: objMeta("tmpl"), Template: validTemplate(map[string]string{"app": "web"})})
	checkErrs(t, ValidateCreate(pt), nil)
	// A pod template may have any restart policy.
	pt.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	checkErrs(t, ValidateCreate(pt), nil)

	bad := pt.DeepCopy()
	bad.Template.Spec.Containers[0].Image = ""
	bad.Template.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", Image: "busybox",
		ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePolicy: corev1.TerminationMessageReadFile}}}
	checkErrs(t, ValidateCreate(bad), []want{
		{"template.spec.containers[0].image", field.ErrorTypeRequired, ""},
		{"template.spec.ephemeralContainers", field.ErrorTypeForbidden, "ephemeral containers not allowed in pod template"},
	})
	bad = pt.DeepCopy()
	bad.Template.Spec.Containers[0].Image = ""
	bad.Labels = map[string]string{"a": "b"}
	checkErrs(t, ValidateUpdate(bad, pt), []want{{"template.spec.containers[0].image", field.ErrorTypeRequired, ""}})
}

func TestPodDisruptionBudget(t *testing.T) {
	pdb := func(mutate func(*policyv1.PodDisruptionBudgetSpec)) *policyv1.PodDisruptionBudget {
		p := &policyv1.PodDisruptionBudget{ObjectMeta: objMeta("web"), Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: intOrStr(intstr.FromInt32(1)), Selector: webSelector(),
		}}
		mutate(&p.Spec)
		return defaulted(p)
	}
	for _, tc := range []struct {
		name string
		obj  *policyv1.PodDisruptionBudget
		want []want
	}{
		{"valid minAvailable", pdb(func(*policyv1.PodDisruptionBudgetSpec) {}), nil},
		{"valid maxUnavailable percent", pdb(func(s *policyv1.PodDisruptionBudgetSpec) {
			s.MinAvailable, s.MaxUnavailable = nil, intOrStr(intstr.FromString("50%"))
			s.UnhealthyPodEvictionPolicy = ptr(policyv1.AlwaysAllow)
		}), nil},
		// Neither set, or a nil selector (which selects no pods), is allowed.
		{"valid empty", pdb(func(s *policyv1.PodDisruptionBudgetSpec) { s.MinAvailable, s.Selector = nil, nil }), nil},
		{"both set", pdb(func(s *policyv1.PodDisruptionBudgetSpec) { s.MaxUnavailable = intOrStr(intstr.FromInt32(1)) }), []want{
			{"spec", field.ErrorTypeInvalid, "minAvailable and maxUnavailable cannot be both set"},
		}},
		{"negative minAvailable", pdb(func(s *policyv1.PodDisruptionBudgetSpec) { s.MinAvailable = intOrStr(intstr.FromInt32(-1)) }), []want{
			{"spec.minAvailable", field.ErrorTypeInvalid, "must be greater than or equal to 0"},
		}},
		{"maxUnavailable over 100%", pdb(func(s *policyv1.PodDisruptionBudgetSpec) {
			s.MinAvailable, s.MaxUnavailable = nil, intOrStr(intstr.FromString("120%"))
		}), []want{{"spec.maxUnavailable", field.ErrorTypeInvalid, "must not be greater than 100%"}}},
		{"bad percent", pdb(func(s *policyv1.PodDisruptionBudgetSpec) { s.MinAvailable = intOrStr(intstr.FromString("half")) }), []want{
			{"spec.minAvailable", field.ErrorTypeInvalid, "a valid percent string must be"},
		}},
		{"bad selector", pdb(func(s *policyv1.PodDisruptionBudgetSpec) { s.Selector.MatchLabels = map[string]string{"app": "-bad-"} }), []want{
			{"spec.selector.matchLabels", field.ErrorTypeInvalid, ""},
		}},
		{"unknown eviction policy", pdb(func(s *policyv1.PodDisruptionBudgetSpec) {
			s.UnhealthyPodEvictionPolicy = ptr(policyv1.UnhealthyPodEvictionPolicyType("Never"))
		}), []want{
			{"spec.unhealthyPodEvictionPolicy", field.ErrorTypeNotSupported, `supported values: "AlwaysAllow", "IfHealthyBudget"`},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.want)
			// Updates run the same spec checks; selector and budgets may change.
			checkErrs(t, ValidateUpdate(tc.obj, pdb(func(*policyv1.PodDisruptionBudgetSpec) {})), tc.want)
		})
	}

	old := pdb(func(*policyv1.PodDisruptionBudgetSpec) {})
	p := old.DeepCopy()
	p.Status = policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1, CurrentHealthy: 2, DesiredHealthy: 1, ExpectedPods: 2,
		Conditions: []metav1.Condition{{Type: "DisruptionAllowed", Status: metav1.ConditionTrue, Reason: "SufficientPods", LastTransitionTime: metav1.Now()}}}
	checkErrs(t, ValidateStatusUpdate(p, old), nil)
	p.Status = policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: -1, CurrentHealthy: -1, DesiredHealthy: -1, ExpectedPods: -1,
		Conditions: []metav1.Condition{{Type: "bad type", Status: "Maybe"}}}
	checkErrs(t, ValidateStatusUpdate(p, old), []want{
		{"status.conditions[0].type", field.ErrorTypeInvalid, ""},
		{"status.conditions[0].status", field.ErrorTypeNotSupported, ""},
		{"status.conditions[0].lastTransitionTime", field.ErrorTypeRequired, ""},
		{"status.conditions[0].reason", field.ErrorTypeRequired, ""},
		{"status.disruptionsAllowed", field.ErrorTypeInvalid, ""},
		{"status.currentHealthy", field.ErrorTypeInvalid, ""},
		{"status.desiredHealthy", field.ErrorTypeInvalid, ""},
		{"status.expectedPods", field.ErrorTypeInvalid, ""},
	})
}

func TestPriorityClass(t *testing.T) {
	pc := func(name string, value int32, globalDefault bool) *schedulingv1.PriorityClass {
		return defaulted(&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1"}, Value: value, GlobalDefault: globalDefault})
	}
	const reserved = "priority class names with 'system-' prefix are reserved for system use only. error: "
	for _, tc := range []struct {
		name string
		obj  *schedulingv1.PriorityClass
		want []want
	}{
		{"valid", pc("high", 1000, false), nil},
		{"valid global default", pc("default", 0, true), nil},
		{"valid highest user value", pc("top", 1000000000, false), nil},
		{"valid negative", pc("low", -10, false), nil},
		{"system-cluster-critical", pc("system-cluster-critical", 2000000000, false), nil},
		{"system-node-critical", pc("system-node-critical", 2000001000, false), nil},
		{"user value too high", pc("top", 1000000001, false), []want{
			{"value", field.ErrorTypeForbidden, "maximum allowed value of a user defined priority is 1000000000"},
		}},
		{"unknown system name", pc("system-foo", 10, false), []want{
			{"metadata.name", field.ErrorTypeForbidden, reserved + "system-foo is not a known system priority class"},
		}},
		{"system class wrong value", pc("system-node-critical", 2000000000, false), []want{
			{"metadata.name", field.ErrorTypeForbidden, reserved + "value of system-node-critical PriorityClass must be 2000001000"},
		}},
		{"system class global default", pc("system-cluster-critical", 2000000000, true), []want{
			{"metadata.name", field.ErrorTypeForbidden, reserved + "globalDefault of system-cluster-critical PriorityClass must be false"},
		}},
		{"namespace forbidden", func() *schedulingv1.PriorityClass { p := pc("high", 1, false); p.Namespace = "default"; return p }(), []want{
			{"metadata.namespace", field.ErrorTypeForbidden, "not allowed on this type"},
		}},
		{"bad preemptionPolicy", func() *schedulingv1.PriorityClass {
			p := pc("high", 1, false)
			p.PreemptionPolicy = ptr(corev1.PreemptionPolicy("Sometimes"))
			return p
		}(), []want{{"preemptionPolicy", field.ErrorTypeNotSupported, `supported values: "PreemptLowerPriority", "Never"`}}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, ValidateCreate(tc.obj), tc.want) })
	}

	old := pc("high", 1000, false)
	p := old.DeepCopy()
	p.Description = "changed"
	p.GlobalDefault = true
	checkErrs(t, ValidateUpdate(p, old), nil)
	p.Value = 1001
	p.PreemptionPolicy = ptr(corev1.PreemptNever)
	checkErrs(t, ValidateUpdate(p, old), []want{
		{"value", field.ErrorTypeForbidden, "may not be changed in an update."},
		{"preemptionPolicy", field.ErrorTypeInvalid, "field is immutable"},
	})
}

// TestWorkloadExactMessages pins upstream's rendering of a few common errors.
func TestWorkloadExactMessages(t *testing.T) {
	ss := validStatefulSet()
	ss.Spec.Selector = nil
	ss.Spec.Template.Labels = nil
	// A nil selector matches nothing, so upstream also reports the template labels.
	if got, exp := ValidateCreate(ss).ToAggregate().Error(), "[spec.selector: Required value, spec.template.metadata.labels: Invalid value: null: `selector` does not match template `labels`]"; got != exp {
		t.Errorf("got %q, want %q", got, exp)
	}
	ds := validDaemonSet()
	ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = intOrStr(intstr.FromInt32(0))
	if got, exp := ValidateCreate(ds).ToAggregate().Error(), "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0"; got != exp {
		t.Errorf("got %q, want %q", got, exp)
	}
	pc := defaulted(&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Value: 2000000000})
	if got, exp := ValidateCreate(pc).ToAggregate().Error(), "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"; got != exp {
		t.Errorf("got %q, want %q", got, exp)
	}
}

func TestWorkloadMismatchedOld(t *testing.T) {
	for _, obj := range []runtime.Object{validDaemonSet(), validStatefulSet(), validReplicationController(), &schedulingv1.PriorityClass{}, &policyv1.PodDisruptionBudget{}} {
		if errs := ValidateUpdate(obj, validPod()); len(errs) != 1 || errs[0].Type != field.ErrorTypeInternal {
			t.Errorf("%T: want one internal error, got %v", obj, errs)
		}
	}
}
