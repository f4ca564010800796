package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func rlist(pairs ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(pairs); i += 2 {
		out[corev1.ResourceName(pairs[i])] = resource.MustParse(pairs[i+1])
	}
	return out
}

func TestValidateResourceQuota(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "q", Namespace: "ns"}
	tests := []struct {
		name string
		spec corev1.ResourceQuotaSpec
		want []want
	}{
		{"valid", corev1.ResourceQuotaSpec{Hard: rlist("pods", "10", "requests.cpu", "1500m", "count/deployments.apps", "3", "requests.nvidia.com/gpu", "2", "hugepages-2Mi", "1Gi")}, nil},
		{"storage, per class too", corev1.ResourceQuotaSpec{Hard: rlist("persistentvolumeclaims", "2", "requests.storage", "10Gi", "count/persistentvolumeclaims", "2",
			"local-path.storageclass.storage.k8s.io/requests.storage", "5Gi", "local-path.storageclass.storage.k8s.io/persistentvolumeclaims", "1")}, nil},
		{"negative", corev1.ResourceQuotaSpec{Hard: rlist("limits.memory", "-1")},
			[]want{{"spec.hard[limits.memory]", field.ErrorTypeInvalid, "must be greater than or equal to 0"}}},
		{"fractional count", corev1.ResourceQuotaSpec{Hard: rlist("pods", "1500m")},
			[]want{{"spec.hard[pods]", field.ErrorTypeInvalid, "must be an integer"}}},
		{"unknown standard name", corev1.ResourceQuotaSpec{Hard: rlist("gpus", "1")},
			[]want{{"spec.hard[gpus]", field.ErrorTypeInvalid, "must be a standard resource type or fully qualified"},
				{"spec.hard[gpus]", field.ErrorTypeInvalid, "must be a standard resource for quota"}}},
		{"scope on wrong resource", corev1.ResourceQuotaSpec{Hard: rlist("services", "1"), Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}},
			[]want{{"spec.scopes", field.ErrorTypeInvalid, "unsupported scope applied to resource"}}},
		{"conflicting scopes", corev1.ResourceQuotaSpec{Hard: rlist("pods", "1"), Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating}},
			[]want{{"spec.scopes", field.ErrorTypeInvalid, "conflicting scopes"}}},
		{"selector without values", corev1.ResourceQuotaSpec{Hard: rlist("pods", "1"), ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
			{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn}}}},
			[]want{{"spec.scopeSelector.matchExpressions.values", field.ErrorTypeRequired, "must be at least one value"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(&corev1.ResourceQuota{ObjectMeta: meta, Spec: tc.spec}), tc.want)
		})
	}
	old := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "ns", ResourceVersion: "1"}, Spec: corev1.ResourceQuotaSpec{Hard: rlist("pods", "1")}}
	upd := old.DeepCopy()
	upd.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotBestEffort}
	checkErrs(t, ValidateUpdate(upd, old), []want{{"spec.scopes", field.ErrorTypeInvalid, "field is immutable"}})
	st := old.DeepCopy()
	st.Status.Used = rlist("pods", "-1")
	checkErrs(t, ValidateStatusUpdate(st, old), []want{{"status.used[pods]", field.ErrorTypeInvalid, "must be greater than or equal to 0"}})
}

func TestValidateLimitRange(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "l", Namespace: "ns"}
	tests := []struct {
		name  string
		items []corev1.LimitRangeItem
		want  []want
	}{
		{"valid", []corev1.LimitRangeItem{
			{Type: corev1.LimitTypeContainer, Min: rlist("cpu", "100m"), Max: rlist("cpu", "2"), Default: rlist("cpu", "1"), DefaultRequest: rlist("cpu", "500m"), MaxLimitRequestRatio: rlist("cpu", "4")},
			{Type: corev1.LimitTypePod, Max: rlist("memory", "2Gi")},
		}, nil},
		{"min over max", []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, Min: rlist("cpu", "2"), Max: rlist("cpu", "1")}},
			[]want{{"spec.limits[0].min[cpu]", field.ErrorTypeInvalid, "min value 2 is greater than max value 1"}}},
		{"default over max", []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, Max: rlist("memory", "1Gi"), Default: rlist("memory", "2Gi"), DefaultRequest: rlist("memory", "1Gi")}},
			[]want{{"spec.limits[0].default[memory]", field.ErrorTypeInvalid, "default value 2Gi is greater than max value 1Gi"}}},
		{"default request over default", []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, Default: rlist("cpu", "1"), DefaultRequest: rlist("cpu", "2")}},
			[]want{{"spec.limits[0].defaultRequest[cpu]", field.ErrorTypeInvalid, "default request value 2 is greater than default limit value 1"}}},
		{"pod defaults", []corev1.LimitRangeItem{{Type: corev1.LimitTypePod, Default: rlist("cpu", "1")}},
			[]want{{"spec.limits[0].default", field.ErrorTypeForbidden, "may not be specified when `type` is 'Pod'"}}},
		{"ratio under one", []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, MaxLimitRequestRatio: rlist("cpu", "500m")}},
			[]want{{"spec.limits[0].maxLimitRequestRatio[cpu]", field.ErrorTypeInvalid, "ratio 500m is less than 1"}}},
		{"duplicate type", []corev1.LimitRangeItem{{Type: corev1.LimitTypePod}, {Type: corev1.LimitTypePod}},
			[]want{{"spec.limits[1].type", field.ErrorTypeDuplicate, ""}}},
		{"bad type", []corev1.LimitRangeItem{{Type: "Node"}},
			[]want{{"spec.limits[0].type", field.ErrorTypeInvalid, "must be a standard limit type or fully qualified"}}},
		{"pvc without storage", []corev1.LimitRangeItem{{Type: corev1.LimitTypePersistentVolumeClaim}},
			[]want{{"spec.limits[0].limits", field.ErrorTypeRequired, "either minimum or maximum storage value is required"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(&corev1.LimitRange{ObjectMeta: meta, Spec: corev1.LimitRangeSpec{Limits: tc.items}}), tc.want)
		})
	}
}
