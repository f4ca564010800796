package namespace

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"

	"github.com/skiff-dev/skiff/apis/validation"
	"github.com/skiff-dev/skiff/apiserver/registry"
)

// namespaceREST deletes namespaces as upstream does: the first delete marks the namespace
// Terminating (the namespace controller empties it and clears spec.finalizers through
// namespaces/finalize); a delete with no spec finalizers left removes it.
type namespaceREST struct {
	*registry.MainREST
}

func (r *namespaceREST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	obj, err := r.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, false, err
	}
	ns := obj.(*corev1.Namespace)
	if options == nil {
		options = metav1.NewDeleteOptions(0)
	}
	if options.Preconditions == nil {
		options.Preconditions = &metav1.Preconditions{}
	}
	if options.Preconditions.UID == nil {
		options.Preconditions.UID = &ns.UID
	} else if *options.Preconditions.UID != ns.UID {
		return nil, false, apierrors.NewConflict(Kind.GroupResource(), name,
			fmt.Errorf("precondition failed: UID in precondition: %v, UID in object meta: %v", *options.Preconditions.UID, ns.UID))
	}
	if options.Preconditions.ResourceVersion != nil && *options.Preconditions.ResourceVersion != ns.ResourceVersion {
		return nil, false, apierrors.NewConflict(Kind.GroupResource(), name,
			fmt.Errorf("precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *options.Preconditions.ResourceVersion, ns.ResourceVersion))
	}
	if len(ns.Spec.Finalizers) == 0 {
		return r.Store.Delete(ctx, name, deleteValidation, options)
	}
	if deleteValidation != nil {
		if err := deleteValidation(ctx, ns); err != nil {
			return nil, false, err
		}
	}
	if len(options.DryRun) > 0 {
		return ns, false, nil
	}
	key, err := r.Store.KeyFunc(ctx, name)
	if err != nil {
		return nil, false, err
	}
	out := &corev1.Namespace{}
	err = r.Store.Storage.GuaranteedUpdate(ctx, key, out, false, &storage.Preconditions{UID: options.Preconditions.UID},
		storage.SimpleUpdate(func(existing runtime.Object) (runtime.Object, error) {
			cur := existing.(*corev1.Namespace)
			if cur.DeletionTimestamp == nil {
				now := metav1.Now()
				cur.DeletionTimestamp = &now
			}
			cur.Status.Phase = corev1.NamespaceTerminating
			return cur, nil
		}), false, nil)
	if err != nil {
		return nil, false, storageError(err, name)
	}
	return out, false, nil
}

func storageError(err error, name string) error {
	if storage.IsNotFound(err) {
		return apierrors.NewNotFound(Kind.GroupResource(), name)
	}
	if storage.IsConflict(err) {
		return apierrors.NewConflict(Kind.GroupResource(), name, err)
	}
	return err
}

// finalizeStrategy lets namespaces/finalize change only spec.finalizers.
type finalizeStrategy struct{ *registry.Strategy }

func (finalizeStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	n, o := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	finalizers := n.Spec.Finalizers
	*n = *o.DeepCopy()
	n.Spec.Finalizers = finalizers
}

func (finalizeStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateNamespaceFinalizeUpdate(obj.(*corev1.Namespace), old.(*corev1.Namespace))
}

func newFinalizeREST(store *genericregistry.Store, s *registry.Strategy) *registry.StatusREST {
	fin := *store
	fs := finalizeStrategy{s}
	fin.CreateStrategy, fin.UpdateStrategy, fin.ResetFieldsStrategy = nil, fs, nil
	return &registry.StatusREST{Store: &fin}
}

// Kind is core/v1 namespaces: created Active with the kubernetes finalizer, deleted in two steps
// (Terminating, then gone once spec.finalizers is empty), spec.finalizers changed only through
// namespaces/finalize.
var Kind = &registry.Kind{GroupVersion: corev1.SchemeGroupVersion, Resource: "namespaces", Singular: "namespace", ShortNames: []string{"ns"},
	Status: true,
	New:    func() runtime.Object { return &corev1.Namespace{} }, NewList: func() runtime.Object { return &corev1.NamespaceList{} },
	Fields: func(obj runtime.Object) fields.Set {
		return fields.Set{"status.phase": string(obj.(*corev1.Namespace).Status.Phase)}
	},
	PrepareForCreate: func(obj runtime.Object) {
		ns := obj.(*corev1.Namespace)
		ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
		if !hasFinalizer(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
			ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
		}
	},
	// A terminating namespace goes away only when spec.finalizers is empty too, as upstream.
	ShouldDeleteDuringUpdate: func(ctx context.Context, key string, obj, existing runtime.Object) bool {
		ns := obj.(*corev1.Namespace)
		return len(ns.Spec.Finalizers) == 0 && genericregistry.ShouldDeleteDuringUpdate(ctx, key, obj, existing)
	},
	PrepareForUpdate: func(obj, old runtime.Object) {
		// spec.finalizers change only through namespaces/finalize.
		obj.(*corev1.Namespace).Spec.Finalizers = old.(*corev1.Namespace).Spec.Finalizers
	},
}

func hasFinalizer(list []corev1.FinalizerName, f corev1.FinalizerName) bool {
	for _, x := range list {
		if x == f {
			return true
		}
	}
	return false
}

// NewREST builds the namespaces storage: the store with upstream's two-step delete,
// namespaces/status and namespaces/finalize.
func NewREST(c *registry.Context) (map[string]rest.Storage, error) {
	st, err := c.NewStorage(Kind)
	if err != nil {
		return nil, err
	}
	st.Subresources["finalize"] = newFinalizeREST(st.Store, registry.NewStrategy(c.Scheme, Kind, false))
	m := st.Paths(Kind)
	m[Kind.Resource] = &namespaceREST{MainREST: m[Kind.Resource].(*registry.MainREST)}
	return m, nil
}
