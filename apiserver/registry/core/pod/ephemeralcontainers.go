package pod

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apis/validation"
	"github.com/skiff-dev/skiff/apiserver/registry"
)

// ephemeralContainersStrategy is upstream's podEphemeralContainersStrategy: an update through
// pods/ephemeralcontainers changes spec.ephemeralContainers and nothing else (the rest of the
// spec, the status and the metadata a status write cannot change are the stored ones), bumps
// metadata.generation when it changed them, and is validated by
// ValidatePodEphemeralContainersUpdate (containers may be added, never removed or changed).
type ephemeralContainersStrategy struct {
	*registry.Strategy
}

func (ephemeralContainersStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	prepareEphemeralContainersUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
}

// prepareEphemeralContainersUpdate is upstream's dropNonEphemeralContainerUpdates followed by
// updatePodGeneration.
func prepareEphemeralContainersUpdate(n, o *corev1.Pod) {
	ecs := n.Spec.EphemeralContainers
	n.Spec = *o.Spec.DeepCopy()
	n.Spec.EphemeralContainers = ecs
	n.Status = *o.Status.DeepCopy()
	metav1.ResetObjectMetaForStatus(&n.ObjectMeta, &o.ObjectMeta)
	if !apiequality.Semantic.DeepEqual(n.Spec, o.Spec) {
		n.Generation = o.Generation + 1
	}
}

func (ephemeralContainersStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidatePodEphemeralContainersUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
}

func (ephemeralContainersStrategy) AllowCreateOnUpdate(context.Context) bool { return false }

// ephemeralContainersREST serves pods/ephemeralcontainers: get, update and patch of the Pod
// (kubectl debug patches it with a strategic merge patch), on a copy of the pods store with
// the strategy above. As upstream's, it reports no reset fields.
type ephemeralContainersREST struct {
	store *genericregistry.Store
}

var _ rest.Patcher = &ephemeralContainersREST{}

func newEphemeralContainersREST(c *registry.Context, st *registry.Storage) *ephemeralContainersREST {
	s := *st.Store
	s.UpdateStrategy = ephemeralContainersStrategy{Strategy: registry.NewStrategy(c.Scheme, Kind, false)}
	return &ephemeralContainersREST{store: &s}
}

func (r *ephemeralContainersREST) New() runtime.Object { return &corev1.Pod{} }
func (r *ephemeralContainersREST) Destroy()            {}

func (r *ephemeralContainersREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

// Update never creates: subresources do not.
func (r *ephemeralContainersREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}
