package registry

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apis/validation"
)

type autoscalingScale = autoscalingv1.Scale

var autoscalingScaleGVK = autoscalingv1.SchemeGroupVersion.WithKind("Scale")

func validateScale(s *autoscalingScale) field.ErrorList { return validation.ValidateCreate(s) }

func newScale(m metav1.ObjectMeta, desired, current int32, selector *metav1.LabelSelector) (*autoscalingScale, error) {
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return nil, fmt.Errorf("invalid label selector: %w", err)
	}
	return &autoscalingScale{
		ObjectMeta: metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID,
			ResourceVersion: m.ResourceVersion, CreationTimestamp: m.CreationTimestamp},
		Spec:   autoscalingv1.ScaleSpec{Replicas: desired},
		Status: autoscalingv1.ScaleStatus{Replicas: current, Selector: sel.String()},
	}, nil
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func deploymentScale(obj runtime.Object) (*autoscalingScale, error) {
	d := obj.(*appsv1.Deployment)
	return newScale(d.ObjectMeta, replicas(d.Spec.Replicas), d.Status.Replicas, d.Spec.Selector)
}

func replicaSetScale(obj runtime.Object) (*autoscalingScale, error) {
	rs := obj.(*appsv1.ReplicaSet)
	return newScale(rs.ObjectMeta, replicas(rs.Spec.Replicas), rs.Status.Replicas, rs.Spec.Selector)
}

func setDeploymentReplicas(obj runtime.Object, n int32) { obj.(*appsv1.Deployment).Spec.Replicas = &n }
func setReplicaSetReplicas(obj runtime.Object, n int32) { obj.(*appsv1.ReplicaSet).Spec.Replicas = &n }
