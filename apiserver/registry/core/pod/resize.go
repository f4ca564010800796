package pod

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/skiff-dev/skiff/apis/validation"
	"github.com/skiff-dev/skiff/apiserver/registry"
)

// resizeStrategy is upstream's podResizeStrategy: pods/resize changes only the containers'
// (and init containers') resources and resize policies, keeps the status and the metadata
// (ResetObjectMetaForStatus, as a status write), bumps metadata.generation when the spec changed,
// and is validated by ValidatePodResize.
type resizeStrategy struct{ *registry.Strategy }

func (resizeStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	n, o := obj.(*corev1.Pod), old.(*corev1.Pod)
	DropNonResizeUpdates(n, o)
	n.Generation = o.Generation
	if !apiequality.Semantic.DeepEqual(n.Spec, o.Spec) {
		n.Generation++
	}
}

func (resizeStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidatePodResize(obj.(*corev1.Pod), old.(*corev1.Pod))
}

// DropNonResizeUpdates is upstream's dropNonResizeUpdates: n keeps o's spec but for the
// containers' resources and resize policies, o's status and o's metadata. Added, removed, renamed or reordered containers are left for validation to refuse.
func DropNonResizeUpdates(n, o *corev1.Pod) {
	if len(n.Spec.Containers) != len(o.Spec.Containers) || len(n.Spec.InitContainers) != len(o.Spec.InitContainers) {
		return
	}
	containers, ok1 := mergeResizable(n.Spec.Containers, o.Spec.Containers)
	inits, ok2 := mergeResizable(n.Spec.InitContainers, o.Spec.InitContainers)
	if !ok1 || !ok2 {
		return
	}
	spec := *o.Spec.DeepCopy()
	spec.Containers, spec.InitContainers = containers, inits
	n.Spec = spec
	n.Status = *o.Status.DeepCopy()
	metav1.ResetObjectMetaForStatus(&n.ObjectMeta, &o.ObjectMeta)
}

// mergeResizable is old's containers with new's resources and resize policies; false when a
// container was renamed or moved.
func mergeResizable(n, o []corev1.Container) ([]corev1.Container, bool) {
	if len(n) == 0 {
		return n, true
	}
	out := make([]corev1.Container, len(o))
	for i := range o {
		if n[i].Name != o[i].Name {
			return nil, false
		}
		out[i] = *o[i].DeepCopy()
		out[i].Resources = n[i].Resources
		out[i].ResizePolicy = n[i].ResizePolicy
	}
	return out, true
}

// newResizeREST serves pods/resize (get, update, patch) on a copy of the pods store.
func newResizeREST(store *genericregistry.Store, s *registry.Strategy) *registry.StatusREST {
	r := *store
	rs := resizeStrategy{s}
	r.CreateStrategy, r.UpdateStrategy, r.ResetFieldsStrategy, r.DeleteStrategy = nil, rs, nil, rs
	return &registry.StatusREST{Store: &r}
}
