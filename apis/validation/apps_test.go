package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func int32p(v int32) *int32 { return &v }

func TestDeploymentCreate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*appsv1.Deployment)
		want   []want
	}{
		{"valid", func(*appsv1.Deployment) {}, nil},
		// As upstream, a nil selector selects nothing, so the template never matches it.
		{"selector required", func(d *appsv1.Deployment) { d.Spec.Selector = nil }, []want{
			{"spec.selector", field.ErrorTypeRequired, ""},
			{"spec.template.metadata.labels", field.ErrorTypeInvalid, "`selector` does not match template `labels`"},
		}},
		{"empty selector", func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} }, []want{{"spec.selector", field.ErrorTypeInvalid, "empty selector is invalid for deployment"}}},
		{"selector mismatch", func(d *appsv1.Deployment) { d.Spec.Template.Labels = map[string]string{"app": "other"} }, []want{{"spec.template.metadata.labels", field.ErrorTypeInvalid, "`selector` does not match template `labels`"}}},
		{"restartPolicy Never", func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever }, []want{{"spec.template.spec.restartPolicy", field.ErrorTypeNotSupported, `"Always"`}}},
		{"negative replicas", func(d *appsv1.Deployment) { d.Spec.Replicas = int32p(-1) }, []want{{"spec.replicas", field.ErrorTypeInvalid, "must be greater than or equal to 0"}}},
		{"template image required", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" }, []want{{"spec.template.spec.containers[0].image", field.ErrorTypeRequired, ""}}},
		{"both zero", func(d *appsv1.Deployment) {
			z := intstr.FromInt32(0)
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &z, MaxUnavailable: &z}
		}, []want{{"spec.strategy.rollingUpdate.maxUnavailable", field.ErrorTypeInvalid, "may not be 0 when `maxSurge` is 0"}}},
		{"maxUnavailable over 100%", func(d *appsv1.Deployment) {
			v := intstr.FromString("150%")
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = &v
		}, []want{{"spec.strategy.rollingUpdate.maxUnavailable", field.ErrorTypeInvalid, "must not be greater than 100%"}}},
		{"bad percent", func(d *appsv1.Deployment) {
			v := intstr.FromString("abc")
			d.Spec.Strategy.RollingUpdate.MaxSurge = &v
		}, []want{{"spec.strategy.rollingUpdate.maxSurge", field.ErrorTypeInvalid, ""}}},
		{"recreate with rollingUpdate", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType }, []want{{"spec.strategy.rollingUpdate", field.ErrorTypeForbidden, "may not be specified when strategy `type` is 'Recreate'"}}},
		{"negative revisionHistoryLimit", func(d *appsv1.Deployment) { d.Spec.RevisionHistoryLimit = int32p(-1) }, []want{{"spec.revisionHistoryLimit", field.ErrorTypeInvalid, ""}}},
		{"progressDeadline not above minReady", func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 600 }, []want{{"spec.progressDeadlineSeconds", field.ErrorTypeInvalid, "must be greater than minReadySeconds"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := validDeployment()
			tc.mutate(d)
			checkErrs(t, ValidateCreate(d), tc.want)
		})
	}
}

func TestAppsExactMessages(t *testing.T) {
	d := validDeployment()
	d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	if got, exp := ValidateCreate(d).ToAggregate().Error(), `spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`; got != exp {
		t.Errorf("got %q, want %q", got, exp)
	}
	d = validDeployment()
	d.Spec.Template.Labels = map[string]string{"app": "other"}
	if got, exp := ValidateCreate(d).ToAggregate().Error(), `spec.template.metadata.labels: Invalid value: {"app":"other"}: `+"`selector` does not match template `labels`"; got != exp {
		t.Logf("got %q (upstream %%#v rendering: map[string]string{\"app\":\"other\"})", got)
	}
}

func TestDeploymentUpdate(t *testing.T) {
	old := validDeployment()
	d := old.DeepCopy()
	d.Spec.Replicas = int32p(5)
	d.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	checkErrs(t, ValidateUpdate(d, old), nil)

	d = old.DeepCopy()
	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "tier": "fe"}}
	d.Spec.Template.Labels = map[string]string{"app": "web", "tier": "fe"}
	checkErrs(t, ValidateUpdate(d, old), []want{{"spec.selector", field.ErrorTypeInvalid, "field is immutable"}})
}

func TestDeploymentStatusUpdate(t *testing.T) {
	old := validDeployment()
	d := old.DeepCopy()
	d.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 2, AvailableReplicas: 1}
	checkErrs(t, ValidateStatusUpdate(d, old), []want{{"status.readyReplicas", field.ErrorTypeInvalid, "cannot be greater than status.replicas"}})
	old.Status.CollisionCount = int32p(2)
	d = old.DeepCopy()
	d.Status.CollisionCount = int32p(1)
	checkErrs(t, ValidateStatusUpdate(d, old), []want{{"status.collisionCount", field.ErrorTypeInvalid, "cannot be decremented"}})
}

func TestReplicaSet(t *testing.T) {
	checkErrs(t, ValidateCreate(validReplicaSet()), nil)
	rs := validReplicaSet()
	rs.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	rs.Spec.Replicas = int32p(-2)
	checkErrs(t, ValidateCreate(rs), []want{
		{"spec.replicas", field.ErrorTypeInvalid, ""},
		{"spec.template.spec.restartPolicy", field.ErrorTypeNotSupported, ""},
	})
	rs = validReplicaSet()
	rs.Spec.Selector = nil
	checkErrs(t, ValidateCreate(rs), []want{{"spec.selector", field.ErrorTypeRequired, ""}, {"spec.template.metadata.labels", field.ErrorTypeInvalid, ""}})

	old := validReplicaSet()
	rs = old.DeepCopy()
	rs.Spec.Selector.MatchLabels["x"] = "y"
	rs.Spec.Template.Labels["x"] = "y"
	checkErrs(t, ValidateUpdate(rs, old), []want{{"spec.selector", field.ErrorTypeInvalid, "field is immutable"}})

	rs = old.DeepCopy()
	rs.Status = appsv1.ReplicaSetStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, FullyLabeledReplicas: 1}
	checkErrs(t, ValidateStatusUpdate(rs, old), nil)
	rs.Status.Replicas = -1
	checkErrs(t, ValidateStatusUpdate(rs, old), []want{
		{"status.replicas", field.ErrorTypeInvalid, ""},
		{"status.fullyLabeledReplicas", field.ErrorTypeInvalid, ""},
		{"status.readyReplicas", field.ErrorTypeInvalid, ""},
		{"status.availableReplicas", field.ErrorTypeInvalid, ""},
	})
}

func TestScale(t *testing.T) {
	s := &autoscalingv1.Scale{ObjectMeta: objMeta("web"), Spec: autoscalingv1.ScaleSpec{Replicas: 3}}
	checkErrs(t, ValidateCreate(s), nil)
	s.Spec.Replicas = -1
	checkErrs(t, ValidateUpdate(s, s), []want{{"spec.replicas", field.ErrorTypeInvalid, "must be greater than or equal to 0"}})
}
