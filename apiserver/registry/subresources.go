package registry

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	autoscalingv1 "k8s.io/api/autoscaling/v1"

	"github.com/skiff-dev/skiff/apis/validation"
)

// StatusREST serves a status-like subresource (status, namespaces/finalize, CSR approval) on a
// copy of the main store with its own update strategy: get, update and patch.
type StatusREST struct {
	Store *genericregistry.Store
}

var (
	_ rest.Patcher             = &StatusREST{}
	_ rest.ResetFieldsStrategy = &StatusREST{}
)

func (r *StatusREST) New() runtime.Object { return r.Store.NewFunc() }
func (r *StatusREST) Destroy()            {}

func (r *StatusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.Store.Get(ctx, name, options)
}

func (r *StatusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// Status updates never create.
	return r.Store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

func (r *StatusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.Store.GetResetFields()
}

func (r *StatusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.Store.ConvertToTable(ctx, object, tableOptions)
}

// scaleREST serves the scale subresource of a workload as autoscaling/v1 Scale.
type scaleREST struct {
	store *genericregistry.Store
	// toScale reads the scale of the stored object; setReplicas writes the desired count into it.
	toScale     func(obj runtime.Object) (*autoscalingScale, error)
	setReplicas func(obj runtime.Object, replicas int32)
	kind        *Kind
}

// NewScaleREST serves the scale subresource of k's store: toScale reads the Scale of a stored
// object (see NewScale), setReplicas writes the desired count into it.
func NewScaleREST(store *genericregistry.Store, k *Kind, toScale func(obj runtime.Object) (*autoscalingv1.Scale, error), setReplicas func(obj runtime.Object, replicas int32)) rest.Storage {
	return &scaleREST{store: store, kind: k, toScale: toScale, setReplicas: setReplicas}
}

type autoscalingScale = autoscalingv1.Scale

var autoscalingScaleGVK = autoscalingv1.SchemeGroupVersion.WithKind("Scale")

func validateScale(s *autoscalingScale) field.ErrorList { return validation.ValidateCreate(s) }

// NewScale is the Scale of a workload with metadata m, desired and current replicas, and selector.
func NewScale(m metav1.ObjectMeta, desired, current int32, selector *metav1.LabelSelector) (*autoscalingv1.Scale, error) {
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

var (
	_ rest.Patcher                  = &scaleREST{}
	_ rest.GroupVersionKindProvider = &scaleREST{}
)

func (r *scaleREST) New() runtime.Object { return &autoscalingScale{} }
func (r *scaleREST) Destroy()            {}

func (r *scaleREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return autoscalingScaleGVK
}

func (r *scaleREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	obj, err := r.store.Get(ctx, name, options)
	if err != nil {
		return nil, scaleNotFound(err, r.kind, name)
	}
	return r.toScale(obj)
}

func (r *scaleREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	obj, _, err := r.store.Update(ctx, name, &scaleUpdate{r: r, name: name, inner: objInfo}, rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, options)
	if err != nil {
		return nil, false, scaleNotFound(err, r.kind, name)
	}
	scale, err := r.toScale(obj)
	return scale, false, err
}

func (r *scaleREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return rest.NewDefaultTableConvertor(r.kind.GroupResource()).ConvertToTable(ctx, object, tableOptions)
}

func scaleNotFound(err error, k *Kind, name string) error {
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(k.GroupResource(), name)
	}
	return err
}

// scaleUpdate turns an update of a Scale into an update of the workload that owns it.
type scaleUpdate struct {
	r     *scaleREST
	name  string
	inner rest.UpdatedObjectInfo
}

func (u *scaleUpdate) Preconditions() *metav1.Preconditions { return u.inner.Preconditions() }

func (u *scaleUpdate) UpdatedObject(ctx context.Context, oldObj runtime.Object) (runtime.Object, error) {
	if oldObj == nil {
		return nil, apierrors.NewNotFound(u.r.kind.GroupResource(), u.name)
	}
	oldScale, err := u.r.toScale(oldObj)
	if err != nil {
		return nil, err
	}
	newObj, err := u.inner.UpdatedObject(ctx, oldScale)
	if err != nil {
		return nil, err
	}
	scale, ok := newObj.(*autoscalingScale)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("expected input object type to be Scale, but %T", newObj))
	}
	if errs := validateScale(scale); len(errs) > 0 {
		return nil, apierrors.NewInvalid(autoscalingScaleGVK.GroupKind(), scale.Name, errs)
	}
	if scale.ResourceVersion != "" && scale.ResourceVersion != oldScale.ResourceVersion {
		return nil, apierrors.NewConflict(u.r.kind.GroupResource(), u.name,
			fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	}
	out := oldObj.DeepCopyObject()
	u.r.setReplicas(out, scale.Spec.Replicas)
	return out, nil
}
