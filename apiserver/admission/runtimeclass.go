package admission

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	nodelisters "k8s.io/client-go/listers/node/v1"

	"github.com/skiff-dev/skiff/apis/helper"
)

// RuntimeClass is upstream's RuntimeClass admission plugin: a new pod naming a RuntimeClass gets
// the class's overhead (spec.overhead; a pod that sets another is refused) and its scheduling
// (node selector merged, a conflicting key refused; tolerations merged); a class that does not
// exist refuses the pod, and so does an overhead set without a class that defines it.
type RuntimeClass struct {
	*admission.Handler
	lister nodelisters.RuntimeClassLister
	client kubernetes.Interface
}

var (
	_ admission.MutationInterface   = &RuntimeClass{}
	_ admission.ValidationInterface = &RuntimeClass{}
)

// NewRuntimeClass reads RuntimeClasses through factory's informer, falling back to client for a
// class the informer has not seen yet.
func NewRuntimeClass(factory informers.SharedInformerFactory, client kubernetes.Interface) *RuntimeClass {
	inf := factory.Node().V1().RuntimeClasses()
	r := &RuntimeClass{Handler: admission.NewHandler(admission.Create), lister: inf.Lister(), client: client}
	r.SetReadyFunc(inf.Informer().HasSynced)
	return r
}

// Admit sets the pod's overhead and scheduling from its class.
func (r *RuntimeClass) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != podsResource || a.GetSubresource() != "" {
		return nil
	}
	pod, rc, err := r.prepare(ctx, a)
	if err != nil || rc == nil {
		return err
	}
	if err := setRuntimeClassOverhead(pod, rc); err != nil {
		return admission.NewForbidden(a, err)
	}
	if err := setRuntimeClassScheduling(pod, rc); err != nil {
		return admission.NewForbidden(a, err)
	}
	return nil
}

// Validate refuses a pod whose overhead is not its class's.
func (r *RuntimeClass) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != podsResource || a.GetSubresource() != "" {
		return nil
	}
	pod, rc, err := r.prepare(ctx, a)
	if err != nil {
		return err
	}
	if err := validateRuntimeClassOverhead(pod, rc); err != nil {
		return admission.NewForbidden(a, err)
	}
	return nil
}

// prepare returns the pod and its RuntimeClass (nil when it names none).
func (r *RuntimeClass) prepare(ctx context.Context, a admission.Attributes) (*corev1.Pod, *nodev1.RuntimeClass, error) {
	pod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return nil, nil, apierrors.NewBadRequest("Resource was marked with kind Pod but was unable to be converted")
	}
	if pod.Spec.RuntimeClassName == nil {
		return pod, nil, nil
	}
	name := *pod.Spec.RuntimeClassName
	rc, err := r.lister.Get(name)
	if apierrors.IsNotFound(err) {
		// The informer may lag behind a class created a moment ago: read it.
		rc, err = r.client.NodeV1().RuntimeClasses().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return pod, nil, admission.NewForbidden(a, fmt.Errorf("pod rejected: RuntimeClass %q not found", name))
		}
	}
	if err != nil {
		return pod, nil, fmt.Errorf("getting RuntimeClass %q: %w", name, err)
	}
	return pod, rc, nil
}

// errOverheadMismatch is upstream's refusal of a pod's own overhead.
var errOverheadMismatch = fmt.Errorf("pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead")

// setRuntimeClassOverhead gives pod the overhead of rc, refusing a pod that sets another.
func setRuntimeClassOverhead(pod *corev1.Pod, rc *nodev1.RuntimeClass) error {
	if rc == nil || rc.Overhead == nil {
		return nil
	}
	if len(pod.Spec.Overhead) > 0 && !apiequality.Semantic.DeepEqual(rc.Overhead.PodFixed, pod.Spec.Overhead) {
		return errOverheadMismatch
	}
	pod.Spec.Overhead = rc.Overhead.PodFixed.DeepCopy()
	return nil
}

// setRuntimeClassScheduling merges rc's node selector into pod's (a key the pod sets to another
// value is a conflict) and its tolerations into the pod's.
func setRuntimeClassScheduling(pod *corev1.Pod, rc *nodev1.RuntimeClass) error {
	if rc == nil || rc.Scheduling == nil {
		return nil
	}
	selector := pod.Spec.NodeSelector
	if selector == nil {
		if rc.Scheduling.NodeSelector != nil {
			selector = make(map[string]string, len(rc.Scheduling.NodeSelector))
		}
	}
	for key, value := range rc.Scheduling.NodeSelector {
		if podValue, ok := selector[key]; ok && podValue != value {
			return fmt.Errorf("conflict: runtimeClass.scheduling.nodeSelector[%s] = %s; pod.spec.nodeSelector[%s] = %s", key, value, key, podValue)
		}
		selector[key] = value
	}
	pod.Spec.NodeSelector = selector
	pod.Spec.Tolerations = helper.MergeTolerations(pod.Spec.Tolerations, rc.Scheduling.Tolerations)
	return nil
}

// validateRuntimeClassOverhead requires the pod's overhead to be rc's, and none without one.
func validateRuntimeClassOverhead(pod *corev1.Pod, rc *nodev1.RuntimeClass) error {
	if rc != nil && rc.Overhead != nil {
		if !apiequality.Semantic.DeepEqual(rc.Overhead.PodFixed, pod.Spec.Overhead) {
			return errOverheadMismatch
		}
		return nil
	}
	if pod.Spec.Overhead != nil {
		return fmt.Errorf("pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead")
	}
	return nil
}
