package registry

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"

	"github.com/skiff-dev/skiff/apis/validation"
)

// namespaceREST deletes namespaces as upstream does: the first delete marks the namespace
// Terminating (the namespace controller empties it and clears spec.finalizers through
// namespaces/finalize); a delete with no spec finalizers left removes it.
type namespaceREST struct {
	*mainREST
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
		return nil, false, apierrors.NewConflict(NamespaceKind.GroupResource(), name,
			fmt.Errorf("precondition failed: UID in precondition: %v, UID in object meta: %v", *options.Preconditions.UID, ns.UID))
	}
	if options.Preconditions.ResourceVersion != nil && *options.Preconditions.ResourceVersion != ns.ResourceVersion {
		return nil, false, apierrors.NewConflict(NamespaceKind.GroupResource(), name,
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
		return apierrors.NewNotFound(NamespaceKind.GroupResource(), name)
	}
	if storage.IsConflict(err) {
		return apierrors.NewConflict(NamespaceKind.GroupResource(), name, err)
	}
	return err
}

// finalizeStrategy lets namespaces/finalize change only spec.finalizers.
type finalizeStrategy struct{ *strategy }

func (finalizeStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	n, o := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	finalizers := n.Spec.Finalizers
	*n = *o.DeepCopy()
	n.Spec.Finalizers = finalizers
}

func (finalizeStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateNamespaceFinalizeUpdate(obj.(*corev1.Namespace), old.(*corev1.Namespace))
}

func newFinalizeREST(store *genericregistry.Store, s *strategy) *statusREST {
	fin := *store
	fs := finalizeStrategy{s}
	fin.CreateStrategy, fin.UpdateStrategy, fin.ResetFieldsStrategy = nil, fs, nil
	return &statusREST{store: &fin}
}
