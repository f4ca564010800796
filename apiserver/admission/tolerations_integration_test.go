package admission_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
)

// TestDefaultTolerationsOnUpdate: an update that replaces a pod's tolerations with a new one
// keeps the default not-ready and unreachable tolerations (the plugin admits updates too, as
// upstream's), so validation sees only an added toleration and the generation goes up (upstream's
// "pod generation should start at 1 and increment per update" does this).
func TestDefaultTolerationsOnUpdate(t *testing.T) {
	s := apiservertest.Start(t)
	ctx, pods := context.Background(), s.Client.CoreV1().Pods("default")
	p, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "tol"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Spec.Tolerations) != 2 || p.Generation != 1 {
		t.Fatalf("created: tolerations %v generation %d", p.Spec.Tolerations, p.Generation)
	}
	p.Spec.Tolerations = []corev1.Toleration{{Key: "foo", Operator: corev1.TolerationOpEqual, Value: "bar", Effect: corev1.TaintEffectNoSchedule}}
	p, err = pods.Update(ctx, p, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("replacing the tolerations: %v", err)
	}
	keys := map[string]bool{}
	for _, tol := range p.Spec.Tolerations {
		keys[tol.Key] = true
	}
	if len(p.Spec.Tolerations) != 3 || !keys["foo"] || !keys[corev1.TaintNodeNotReady] || !keys[corev1.TaintNodeUnreachable] || p.Generation != 2 {
		t.Errorf("updated: tolerations %v generation %d", p.Spec.Tolerations, p.Generation)
	}
}
