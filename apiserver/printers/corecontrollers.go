package printers

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// ReplicationControllers and PodTemplates, the core/v1 predecessors of ReplicaSets.
func init() {
	register(core("replicationcontrollers"), newConvertor(replicationControllerColumns,
		func(l *corev1.ReplicationControllerList) []corev1.ReplicationController { return l.Items }, printReplicationController))
	register(core("podtemplates"), newConvertor(podTemplateColumns,
		func(l *corev1.PodTemplateList) []corev1.PodTemplate { return l.Items }, printPodTemplate))
}

var replicationControllerColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Desired", Type: "integer", Description: corev1.ReplicationControllerSpec{}.SwaggerDoc()["replicas"]},
	{Name: "Current", Type: "integer", Description: corev1.ReplicationControllerStatus{}.SwaggerDoc()["replicas"]},
	{Name: "Ready", Type: "integer", Description: corev1.ReplicationControllerStatus{}.SwaggerDoc()["readyReplicas"]},
	ageColumn,
	{Name: "Containers", Type: "string", Priority: 1, Description: containersColumnDesc},
	{Name: "Images", Type: "string", Priority: 1, Description: imagesColumnDesc},
	{Name: "Selector", Type: "string", Priority: 1, Description: corev1.ReplicationControllerSpec{}.SwaggerDoc()["selector"]},
}

func printReplicationController(rc *corev1.ReplicationController) metav1.TableRow {
	var names, images string
	if rc.Spec.Template != nil {
		names, images = layoutContainerCells(rc.Spec.Template.Spec.Containers)
	}
	return cells(rc.Name, desiredReplicas(rc.Spec.Replicas), int64(rc.Status.Replicas), int64(rc.Status.ReadyReplicas),
		translateTimestampSince(rc.CreationTimestamp), names, images, labels.FormatLabels(rc.Spec.Selector))
}

// Upstream's PodTemplate table has no age.
var podTemplateColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Containers", Type: "string", Description: "Names of each container in the template."},
	{Name: "Images", Type: "string", Description: "Images referenced by each container in the template."},
	{Name: "Pod Labels", Type: "string", Description: "The labels for the pod template."},
}

func printPodTemplate(t *corev1.PodTemplate) metav1.TableRow {
	names, images := layoutContainerCells(t.Template.Spec.Containers)
	return cells(t.Name, names, images, labels.FormatLabels(t.Template.Labels))
}
