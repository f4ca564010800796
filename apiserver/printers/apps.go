package printers

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func apps(resource string) schema.GroupResource {
	return schema.GroupResource{Group: appsv1.GroupName, Resource: resource}
}

func init() {
	register(apps("replicasets"), newConvertor(replicaSetColumns, func(l *appsv1.ReplicaSetList) []appsv1.ReplicaSet { return l.Items }, printReplicaSet))
	register(apps("deployments"), newConvertor(deploymentColumns, func(l *appsv1.DeploymentList) []appsv1.Deployment { return l.Items }, printDeployment))
	register(apps("daemonsets"), newConvertor(daemonSetColumns, func(l *appsv1.DaemonSetList) []appsv1.DaemonSet { return l.Items }, printDaemonSet))
	register(apps("statefulsets"), newConvertor(statefulSetColumns, func(l *appsv1.StatefulSetList) []appsv1.StatefulSet { return l.Items }, printStatefulSet))
	register(apps("controllerrevisions"), newConvertor(controllerRevisionColumns, func(l *appsv1.ControllerRevisionList) []appsv1.ControllerRevision { return l.Items }, printControllerRevision))
}

// kube-apiserver takes these descriptions from the extensions/v1beta1 docs.
var replicaSetColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Desired", Type: "integer", Description: extensionsv1beta1.ReplicaSetSpec{}.SwaggerDoc()["replicas"]},
	{Name: "Current", Type: "integer", Description: extensionsv1beta1.ReplicaSetStatus{}.SwaggerDoc()["replicas"]},
	{Name: "Ready", Type: "integer", Description: extensionsv1beta1.ReplicaSetStatus{}.SwaggerDoc()["readyReplicas"]},
	ageColumn,
	{Name: "Containers", Type: "string", Priority: 1, Description: containersColumnDesc},
	{Name: "Images", Type: "string", Priority: 1, Description: imagesColumnDesc},
	{Name: "Selector", Type: "string", Priority: 1, Description: extensionsv1beta1.ReplicaSetSpec{}.SwaggerDoc()["selector"]},
}

var deploymentColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
	{Name: "Up-to-date", Type: "string", Description: extensionsv1beta1.DeploymentStatus{}.SwaggerDoc()["updatedReplicas"]},
	{Name: "Available", Type: "string", Description: extensionsv1beta1.DeploymentStatus{}.SwaggerDoc()["availableReplicas"]},
	ageColumn,
	{Name: "Containers", Type: "string", Priority: 1, Description: containersColumnDesc},
	{Name: "Images", Type: "string", Priority: 1, Description: imagesColumnDesc},
	{Name: "Selector", Type: "string", Priority: 1, Description: extensionsv1beta1.DeploymentSpec{}.SwaggerDoc()["selector"]},
}

var daemonSetColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Desired", Type: "integer", Description: extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["desiredNumberScheduled"]},
	{Name: "Current", Type: "integer", Description: extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["currentNumberScheduled"]},
	{Name: "Ready", Type: "integer", Description: extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["numberReady"]},
	{Name: "Up-to-date", Type: "integer", Description: extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["updatedNumberScheduled"]},
	{Name: "Available", Type: "integer", Description: extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["numberAvailable"]},
	{Name: "Node Selector", Type: "string", Description: corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]},
	ageColumn,
	{Name: "Containers", Type: "string", Priority: 1, Description: containersColumnDesc},
	{Name: "Images", Type: "string", Priority: 1, Description: imagesColumnDesc},
	{Name: "Selector", Type: "string", Priority: 1, Description: extensionsv1beta1.DaemonSetSpec{}.SwaggerDoc()["selector"]},
}

var statefulSetColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
	ageColumn,
	{Name: "Containers", Type: "string", Priority: 1, Description: containersColumnDesc},
	{Name: "Images", Type: "string", Priority: 1, Description: imagesColumnDesc},
}

// The Revision column is typed "string" upstream although its cells are integers; kept as is.
var controllerRevisionColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Controller", Type: "string", Description: "Controller of the object"},
	{Name: "Revision", Type: "string", Description: appsv1.ControllerRevision{}.SwaggerDoc()["revision"]},
	ageColumn,
}

// desiredReplicas reads spec.replicas, which the API defaults to 1 when unset.
func desiredReplicas(replicas *int32) int64 {
	if replicas == nil {
		return 1
	}
	return int64(*replicas)
}

func printReplicaSet(rs *appsv1.ReplicaSet) metav1.TableRow {
	names, images := layoutContainerCells(rs.Spec.Template.Spec.Containers)
	return cells(
		rs.Name,
		desiredReplicas(rs.Spec.Replicas),
		int64(rs.Status.Replicas),
		int64(rs.Status.ReadyReplicas),
		translateTimestampSince(rs.CreationTimestamp),
		names,
		images,
		metav1.FormatLabelSelector(rs.Spec.Selector),
	)
}

func printDeployment(d *appsv1.Deployment) metav1.TableRow {
	selector := "<invalid>"
	if s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
		selector = s.String()
	}
	names, images := layoutContainerCells(d.Spec.Template.Spec.Containers)
	return cells(
		d.Name,
		fmt.Sprintf("%d/%d", int64(d.Status.ReadyReplicas), desiredReplicas(d.Spec.Replicas)),
		int64(d.Status.UpdatedReplicas),
		int64(d.Status.AvailableReplicas),
		translateTimestampSince(d.CreationTimestamp),
		names,
		images,
		selector,
	)
}

func printDaemonSet(ds *appsv1.DaemonSet) metav1.TableRow {
	names, images := layoutContainerCells(ds.Spec.Template.Spec.Containers)
	return cells(
		ds.Name,
		int64(ds.Status.DesiredNumberScheduled),
		int64(ds.Status.CurrentNumberScheduled),
		int64(ds.Status.NumberReady),
		int64(ds.Status.UpdatedNumberScheduled),
		int64(ds.Status.NumberAvailable),
		labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector),
		translateTimestampSince(ds.CreationTimestamp),
		names,
		images,
		metav1.FormatLabelSelector(ds.Spec.Selector),
	)
}

func printStatefulSet(ss *appsv1.StatefulSet) metav1.TableRow {
	names, images := layoutContainerCells(ss.Spec.Template.Spec.Containers)
	return cells(
		ss.Name,
		fmt.Sprintf("%d/%d", int64(ss.Status.ReadyReplicas), desiredReplicas(ss.Spec.Replicas)),
		translateTimestampSince(ss.CreationTimestamp),
		names,
		images,
	)
}

// printControllerRevision shows the controller as "<kind>.<group>/<name>" in lower case
// ("daemonset.apps/fluentd"), or "<none>".
func printControllerRevision(cr *appsv1.ControllerRevision) metav1.TableRow {
	controller := "<none>"
	if ref := metav1.GetControllerOf(cr); ref != nil {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			// Upstream fails the whole table; a row naming the reference as written is kinder.
			gv = schema.GroupVersion{}
		}
		if gk := gv.WithKind(ref.Kind).GroupKind(); !gk.Empty() {
			controller = strings.ToLower(gk.String()) + "/" + ref.Name
		} else {
			controller = ref.Name
		}
	}
	return cells(cr.Name, controller, cr.Revision, translateTimestampSince(cr.CreationTimestamp))
}

// layoutContainerCells joins the containers' names and images with commas.
func layoutContainerCells(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	i := make([]string, len(containers))
	for k, c := range containers {
		n[k], i[k] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(i, ",")
}
