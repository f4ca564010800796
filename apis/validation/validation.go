package validation

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateCreate validates a new object.
func ValidateCreate(obj runtime.Object) field.ErrorList {
	if errs, ok := validateAdmissionRegistrationCreate(obj); ok {
		return errs
	}
	if errs, ok := validateRBACCreate(obj); ok {
		return errs
	}
	if errs, ok := validateWorkloadCreate(obj); ok {
		return errs
	}
	if errs, ok := validateBatchCreate(obj); ok {
		return errs
	}
	if errs, ok := validateStorageCreate(obj); ok {
		return errs
	}
	if errs, ok := validateNetworkingCreate(obj); ok {
		return errs
	}
	if errs, ok := validateAutoscalingCreate(obj); ok {
		return errs
	}
	if errs, ok := validateFlowcontrolCreate(obj); ok {
		return errs
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		return validatePodCreate(o)
	case *corev1.Binding:
		return validateBinding(o)
	case *corev1.Namespace:
		return validateNamespace(o)
	case *corev1.Node:
		return validateNode(o)
	case *corev1.Service:
		return validateService(o)
	case *corev1.Endpoints:
		return validateEndpoints(o)
	case *corev1.Event:
		return legacyValidateEvent(coreEventFields(o))
	case *corev1.ConfigMap:
		return validateConfigMap(o)
	case *corev1.Secret:
		return validateSecret(o)
	case *corev1.ServiceAccount:
		return validateServiceAccount(o)
	case *corev1.ResourceQuota:
		return validateResourceQuota(o)
	case *corev1.LimitRange:
		return validateLimitRange(o)
	case *corev1.PersistentVolumeClaim:
		return validatePersistentVolumeClaim(o)
	case *corev1.PersistentVolume:
		return validatePersistentVolume(o)
	case *appsv1.ReplicaSet:
		return validateReplicaSet(o)
	case *appsv1.Deployment:
		return validateDeployment(o)
	case *autoscalingv1.Scale:
		return validateScale(o)
	case *coordinationv1.Lease:
		return validateLease(o)
	case *discoveryv1.EndpointSlice:
		return validateEndpointSlice(o, supportedAddressTypes)
	case *eventsv1.Event:
		return strictValidateEventCreate(eventsV1Fields(o))
	case *nodev1.RuntimeClass:
		return validateRuntimeClass(o)
	}
	return nil
}

// ValidateUpdate validates an update of the main resource (old is the stored object).
func ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	if errs, ok := validateAdmissionRegistrationUpdate(obj, old); ok {
		return errs
	}
	if errs, ok := validateRBACUpdate(obj, old); ok {
		return errs
	}
	if errs, ok := validateWorkloadUpdate(obj, old); ok {
		return errs
	}
	if errs, ok := validateBatchUpdate(obj, old); ok {
		return errs
	}
	if errs, ok := validateStorageUpdate(obj, old); ok {
		return errs
	}
	if errs, ok := validateNetworkingUpdate(obj, old); ok {
		return errs
	}
	if errs, ok := validateAutoscalingUpdate(obj, old); ok {
		return errs
	}
	if errs, ok := validateFlowcontrolUpdate(obj, old); ok {
		return errs
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		if p, ok := old.(*corev1.Pod); ok {
			return validatePodUpdate(o, p)
		}
	case *corev1.Binding:
		return validateBinding(o)
	case *corev1.Namespace:
		if p, ok := old.(*corev1.Namespace); ok {
			return validateNamespaceUpdate(o, p)
		}
	case *corev1.Node:
		if p, ok := old.(*corev1.Node); ok {
			return validateNodeUpdate(o, p)
		}
	case *corev1.Service:
		if p, ok := old.(*corev1.Service); ok {
			return validateServiceUpdate(o, p)
		}
	case *corev1.Endpoints:
		if p, ok := old.(*corev1.Endpoints); ok {
			allErrs := validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta, field.NewPath("metadata"))
			return append(allErrs, validateEndpoints(o)...)
		}
	case *corev1.Event:
		// core/v1 Events get only the legacy checks, on update too.
		return legacyValidateEvent(coreEventFields(o))
	case *corev1.ConfigMap:
		if p, ok := old.(*corev1.ConfigMap); ok {
			return validateConfigMapUpdate(o, p)
		}
	case *corev1.Secret:
		if p, ok := old.(*corev1.Secret); ok {
			return validateSecretUpdate(o, p)
		}
	case *corev1.ServiceAccount:
		if p, ok := old.(*corev1.ServiceAccount); ok {
			allErrs := validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta, field.NewPath("metadata"))
			return append(allErrs, validateServiceAccount(o)...)
		}
	case *corev1.ResourceQuota:
		if p, ok := old.(*corev1.ResourceQuota); ok {
			return validateResourceQuotaUpdate(o, p)
		}
	case *corev1.LimitRange:
		if p, ok := old.(*corev1.LimitRange); ok {
			return validateLimitRangeUpdate(o, p)
		}
	case *corev1.PersistentVolumeClaim:
		if p, ok := old.(*corev1.PersistentVolumeClaim); ok {
			return validatePersistentVolumeClaimUpdate(o, p)
		}
	case *corev1.PersistentVolume:
		if p, ok := old.(*corev1.PersistentVolume); ok {
			return validatePersistentVolumeUpdate(o, p)
		}
	case *appsv1.ReplicaSet:
		if p, ok := old.(*appsv1.ReplicaSet); ok {
			return validateReplicaSetUpdate(o, p)
		}
	case *appsv1.Deployment:
		if p, ok := old.(*appsv1.Deployment); ok {
			return validateDeploymentUpdate(o, p)
		}
	case *autoscalingv1.Scale:
		return validateScale(o)
	case *coordinationv1.Lease:
		if p, ok := old.(*coordinationv1.Lease); ok {
			return validateLeaseUpdate(o, p)
		}
	case *discoveryv1.EndpointSlice:
		if p, ok := old.(*discoveryv1.EndpointSlice); ok {
			allErrs := validateEndpointSlice(o, supportedAddressTypes.Union(deprecatedAddressTypes))
			return append(allErrs, validateImmutableField(o.AddressType, p.AddressType, field.NewPath("addressType"))...)
		}
	case *eventsv1.Event:
		if p, ok := old.(*eventsv1.Event); ok {
			return strictValidateEventUpdate(eventsV1Fields(o), eventsV1Fields(p))
		}
	case *nodev1.RuntimeClass:
		if p, ok := old.(*nodev1.RuntimeClass); ok {
			return validateRuntimeClassUpdate(o, p)
		}
	default:
		return nil
	}
	return mismatchedOld(obj, old)
}

// ValidateStatusUpdate validates an update through the status subresource.
func ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	if p, ok := obj.(*admissionregistrationv1.ValidatingAdmissionPolicy); ok {
		return validateValidatingAdmissionPolicyStatus(&p.Status, field.NewPath("status"))
	}
	if errs, ok := validateWorkloadStatusUpdate(obj, old); ok {
		return errs
	}
	if errs, ok := validateBatchStatusUpdate(obj, old); ok {
		return errs
	}
	if errs, ok := validateStorageStatusUpdate(obj, old); ok {
		return errs
	}
	if errs, ok := validateNetworkingStatusUpdate(obj, old); ok {
		return errs
	}
	if errs, ok := validateAutoscalingStatusUpdate(obj, old); ok {
		return errs
	}
	if errs, ok := validateFlowcontrolStatusUpdate(obj, old); ok {
		return errs
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		if p, ok := old.(*corev1.Pod); ok {
			return validatePodStatusUpdate(o, p)
		}
	case *corev1.Namespace:
		if p, ok := old.(*corev1.Namespace); ok {
			return validateNamespaceStatusUpdate(o, p)
		}
	case *corev1.Node:
		if p, ok := old.(*corev1.Node); ok {
			return validateNodeUpdate(o, p)
		}
	case *corev1.Service:
		if p, ok := old.(*corev1.Service); ok {
			return validateServiceStatusUpdate(o, p)
		}
	case *corev1.ResourceQuota:
		if p, ok := old.(*corev1.ResourceQuota); ok {
			return validateResourceQuotaStatusUpdate(o, p)
		}
	case *corev1.PersistentVolume:
		if p, ok := old.(*corev1.PersistentVolume); ok {
			return validatePersistentVolumeStatusUpdate(o, p)
		}
	case *corev1.PersistentVolumeClaim:
		if p, ok := old.(*corev1.PersistentVolumeClaim); ok {
			return validatePersistentVolumeClaimStatusUpdate(o, p)
		}
	case *appsv1.ReplicaSet:
		if p, ok := old.(*appsv1.ReplicaSet); ok {
			return validateReplicaSetStatusUpdate(o, p)
		}
	case *appsv1.Deployment:
		if p, ok := old.(*appsv1.Deployment); ok {
			return validateDeploymentStatusUpdate(o, p)
		}
	default:
		// Other kinds have no status rules beyond the metadata ones.
		newMeta, err1 := meta.Accessor(obj)
		oldMeta, err2 := meta.Accessor(old)
		if err1 != nil || err2 != nil {
			return nil
		}
		nm, ok1 := newMeta.(*metav1.ObjectMeta)
		om, ok2 := oldMeta.(*metav1.ObjectMeta)
		if !ok1 || !ok2 {
			return nil
		}
		return validateObjectMetaUpdate(nm, om, field.NewPath("metadata"))
	}
	return mismatchedOld(obj, old)
}

func mismatchedOld(obj, old runtime.Object) field.ErrorList {
	return field.ErrorList{field.InternalError(field.NewPath(""), errMismatch{obj, old})}
}

type errMismatch struct{ obj, old runtime.Object }

func (e errMismatch) Error() string {
	return "old object has a different type than the new one"
}
