package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestRuntimeClass(t *testing.T) {
	rc := func(mutate func(*nodev1.RuntimeClass)) *nodev1.RuntimeClass {
		r := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "gvisor", ResourceVersion: "1"}, Handler: "runsc"}
		mutate(r)
		return defaulted(r)
	}
	for _, tc := range []struct {
		name string
		obj  *nodev1.RuntimeClass
		want []want
	}{
		{"valid", rc(func(*nodev1.RuntimeClass) {}), nil},
		{"valid with overhead and scheduling", rc(func(r *nodev1.RuntimeClass) {
			r.Overhead = &nodev1.Overhead{PodFixed: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("1Mi")}}
			r.Scheduling = &nodev1.Scheduling{NodeSelector: map[string]string{"sandbox.example.com/runtime": "gvisor"},
				Tolerations: []corev1.Toleration{{Key: "sandbox", Operator: corev1.TolerationOpEqual, Value: "gvisor", Effect: corev1.TaintEffectNoSchedule},
					{Key: "sandbox", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}}
		}), nil},
		{"handler required", rc(func(r *nodev1.RuntimeClass) { r.Handler = "" }),
			[]want{{"handler", field.ErrorTypeRequired, ""}}},
		{"handler is a DNS label", rc(func(r *nodev1.RuntimeClass) { r.Handler = "kata.containers" }),
			[]want{{"handler", field.ErrorTypeInvalid, "must not contain dots"}}},
		{"handler too long", rc(func(r *nodev1.RuntimeClass) { r.Handler = strings.Repeat("h", 64) }),
			[]want{{"handler", field.ErrorTypeInvalid, "must be no more than 63 characters"}}},
		{"name is a DNS subdomain", rc(func(r *nodev1.RuntimeClass) { r.Name = "Kata_1" }),
			[]want{{"metadata.name", field.ErrorTypeInvalid, "a lowercase RFC 1123 subdomain"}}},
		{"namespace forbidden", rc(func(r *nodev1.RuntimeClass) { r.Namespace = "default" }),
			[]want{{"metadata.namespace", field.ErrorTypeForbidden, "not allowed on this type"}}},
		{"negative overhead", rc(func(r *nodev1.RuntimeClass) {
			r.Overhead = &nodev1.Overhead{PodFixed: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("-1")}}
		}), []want{{"overhead.limits[cpu]", field.ErrorTypeInvalid, "must be greater than or equal to 0"}}},
		{"overhead resource name", rc(func(r *nodev1.RuntimeClass) {
			r.Overhead = &nodev1.Overhead{PodFixed: corev1.ResourceList{"bogus": resource.MustParse("1")}}
		}), []want{{"overhead.limits[bogus]", field.ErrorTypeInvalid, "must be a standard resource type or fully qualified"},
			{"overhead.limits[bogus]", field.ErrorTypeInvalid, "must be a standard resource for containers"}}},
		{"bad node selector", rc(func(r *nodev1.RuntimeClass) {
			r.Scheduling = &nodev1.Scheduling{NodeSelector: map[string]string{"bad key!": "v", "k": "bad value!"}}
		}), []want{{"scheduling.nodeSelector", field.ErrorTypeInvalid, "name part must consist of"},
			{"scheduling.nodeSelector", field.ErrorTypeInvalid, "a valid label must be"}}},
		{"bad toleration", rc(func(r *nodev1.RuntimeClass) {
			r.Scheduling = &nodev1.Scheduling{Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpEqual, Value: "v"}}}
		}), []want{{"scheduling.tolerations[0].operator", field.ErrorTypeInvalid, "operator must be Exists when `key` is empty"}}},
		{"duplicate tolerations", rc(func(r *nodev1.RuntimeClass) {
			secs := int64(30)
			r.Scheduling = &nodev1.Scheduling{Tolerations: []corev1.Toleration{
				{Key: "a", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
				{Key: "a", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &secs},
			}}
		}), []want{{"scheduling.tolerations[1]", field.ErrorTypeDuplicate, ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, ValidateCreate(tc.obj), tc.want) })
	}

	old := rc(func(r *nodev1.RuntimeClass) {})
	for _, tc := range []struct {
		name string
		obj  *nodev1.RuntimeClass
		want []want
	}{
		{"labels and overhead may change", rc(func(r *nodev1.RuntimeClass) {
			r.Labels = map[string]string{"a": "b"}
			r.Overhead = &nodev1.Overhead{PodFixed: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")}}
		}), nil},
		{"handler is immutable", rc(func(r *nodev1.RuntimeClass) { r.Handler = "runc" }),
			[]want{{"handler", field.ErrorTypeInvalid, "field is immutable"}}},
		{"an invalid new handler is reported twice, as upstream", rc(func(r *nodev1.RuntimeClass) { r.Handler = "Bad" }),
			[]want{{"handler", field.ErrorTypeInvalid, "RFC 1123 label"}, {"handler", field.ErrorTypeInvalid, "field is immutable"}}},
	} {
		t.Run("update/"+tc.name, func(t *testing.T) { checkErrs(t, ValidateUpdate(tc.obj, old), tc.want) })
	}
}
