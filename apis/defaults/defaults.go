package defaults

import (
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Default applies upstream's defaults to obj in place. Unknown types are left alone.
func Default(obj runtime.Object) {
	if defaultBatch(obj) || defaultNetworking(obj) || defaultAdmissionRegistration(obj) || defaultAutoscaling(obj) {
		return
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		defaultPod(o)
	case *corev1.PodList:
		for i := range o.Items {
			defaultPod(&o.Items[i])
		}
	case *corev1.PodTemplate:
		defaultPodTemplateSpec(&o.Template)
	case *corev1.ReplicationController:
		defaultReplicationController(o)
	case *corev1.Service:
		defaultService(o)
	case *corev1.Namespace:
		defaultNamespace(o)
	case *corev1.Node:
		defaultNode(o)
	case *corev1.Secret:
		defaultSecret(o)
	case *corev1.ConfigMap:
		defaultConfigMap(o)
	case *corev1.Endpoints:
		defaultEndpoints(o)
	case *corev1.LimitRange:
		defaultLimitRange(o)
	case *corev1.PersistentVolumeClaim:
		defaultPersistentVolumeClaim(o)
	case *corev1.PersistentVolume:
		defaultPersistentVolume(o)
	case *appsv1.ReplicaSet:
		defaultReplicaSet(o)
	case *appsv1.Deployment:
		defaultDeployment(o)
	case *appsv1.DaemonSet:
		defaultDaemonSet(o)
	case *appsv1.StatefulSet:
		defaultStatefulSet(o)
	case *discoveryv1.EndpointSlice:
		defaultEndpointSlice(o)
	case *schedulingv1.PriorityClass:
		defaultPriorityClass(o)
	case *storagev1.StorageClass:
		defaultStorageClass(o)
	case *storagev1.CSIDriver:
		defaultCSIDriver(o)
	case *flowcontrolv1.FlowSchema:
		defaultFlowSchema(o)
	case *flowcontrolv1.PriorityLevelConfiguration:
		defaultPriorityLevelConfiguration(o)
	case *coordinationv1.Lease:
		// Lease has no defaults upstream.
	case *appsv1.ControllerRevision, *policyv1.PodDisruptionBudget:
		// No defaults upstream either.
	}
}

func ptrTo[T any](v T) *T { return &v }
