package printers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestReplicationControllerAndPodTemplateRows(t *testing.T) {
	tmpl := template(corev1.Container{Name: "web", Image: "nginx"})
	tmpl.Labels = map[string]string{"app": "web"}
	rc := &corev1.ReplicationController{ObjectMeta: objMeta("web", time.Hour),
		Spec:   corev1.ReplicationControllerSpec{Replicas: ptrTo[int32](3), Selector: map[string]string{"app": "web"}, Template: &tmpl},
		Status: corev1.ReplicationControllerStatus{Replicas: 3, ReadyReplicas: 2}}
	checkCells(t, rowCells(t, core("replicationcontrollers"), rc), []any{"web", int64(3), int64(3), int64(2), "60m", "web", "nginx", "app=web"})
	checkCells(t, rowCells(t, core("replicationcontrollers"), &corev1.ReplicationController{ObjectMeta: objMeta("empty", time.Minute)}),
		[]any{"empty", int64(1), int64(0), int64(0), "60s", "", "", "<none>"})
	pt := &corev1.PodTemplate{ObjectMeta: objMeta("tmpl", time.Hour), Template: tmpl}
	checkCells(t, rowCells(t, core("podtemplates"), pt), []any{"tmpl", "web", "nginx", "app=web"})
}

func TestPriorityClassRows(t *testing.T) {
	policy := corev1.PreemptNever
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high", CreationTimestamp: ago(time.Hour)}, Value: 1000, GlobalDefault: true, PreemptionPolicy: &policy}
	checkCells(t, rowCells(t, priorityClassesGR, pc), []any{"high", int64(1000), true, "60m", "Never"})
}
