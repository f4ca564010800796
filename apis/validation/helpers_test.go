package validation

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apis/defaults"
)

// want is one expected error: path and type, and optionally a substring of the detail.
type want struct {
	path   string
	typ    field.ErrorType
	detail string
}

func defaulted[T runtime.Object](obj T) T {
	defaults.Default(obj)
	return obj
}

func checkErrs(t *testing.T, errs field.ErrorList, wants []want) {
	t.Helper()
	if len(wants) == 0 {
		if len(errs) != 0 {
			t.Fatalf("expected no errors, got:\n%s", errsString(errs))
		}
		return
	}
	for _, w := range wants {
		found := false
		for _, e := range errs {
			if e.Field == w.path && e.Type == w.typ && strings.Contains(e.Detail, w.detail) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("missing error %s %s %q; got:\n%s", w.path, w.typ, w.detail, errsString(errs))
		}
	}
	if len(errs) != len(wants) {
		t.Errorf("expected %d errors, got %d:\n%s", len(wants), len(errs), errsString(errs))
	}
}

func errsString(errs field.ErrorList) string {
	var sb strings.Builder
	for _, e := range errs {
		sb.WriteString("  " + e.Error() + "\n")
	}
	return sb.String()
}

func objMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", ResourceVersion: "1"}
}

func validPod() *corev1.Pod {
	return defaulted(&corev1.Pod{
		ObjectMeta: objMeta("web"),
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "nginx:1.25",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}}},
		},
	})
}

func validTemplate(labels map[string]string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}},
	}
}

func validDeployment() *appsv1.Deployment {
	return defaulted(&appsv1.Deployment{
		ObjectMeta: objMeta("web"),
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: validTemplate(map[string]string{"app": "web"}),
		},
	})
}

func validReplicaSet() *appsv1.ReplicaSet {
	return defaulted(&appsv1.ReplicaSet{
		ObjectMeta: objMeta("web"),
		Spec: appsv1.ReplicaSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: validTemplate(map[string]string{"app": "web"}),
		},
	})
}

func validService() *corev1.Service {
	return defaulted(&corev1.Service{
		ObjectMeta: objMeta("web"),
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
	})
}
