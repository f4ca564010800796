package admission

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	storagelisters "k8s.io/client-go/listers/storage/v1"

	"github.com/skiff-dev/skiff/apis/helper"
)

var (
	pvcsResource = corev1.Resource("persistentvolumeclaims")
	pvsResource  = corev1.Resource("persistentvolumes")
)

// storageClasses reads StorageClasses through the shared informer, falling back to the API for
// what the informer may not have seen yet (a class created a moment ago).
type storageClasses struct {
	lister storagelisters.StorageClassLister
	client kubernetes.Interface
}

func newStorageClasses(factory informers.SharedInformerFactory, client kubernetes.Interface) (storageClasses, func() bool) {
	inf := factory.Storage().V1().StorageClasses()
	return storageClasses{lister: inf.Lister(), client: client}, inf.Informer().HasSynced
}

func (s storageClasses) get(ctx context.Context, name string) (*storagev1.StorageClass, error) {
	sc, err := s.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return s.client.StorageV1().StorageClasses().Get(ctx, name, metav1.GetOptions{})
	}
	return sc, err
}

// defaultClass is helper.DefaultStorageClass over the informer's classes or, when it knows no
// default, over a fresh list.
func (s storageClasses) defaultClass(ctx context.Context) (*storagev1.StorageClass, error) {
	cached, err := s.lister.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	if def := helper.DefaultStorageClass(cached); def != nil {
		return def, nil
	}
	list, err := s.client.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	classes := make([]*storagev1.StorageClass, len(list.Items))
	for i := range list.Items {
		classes[i] = &list.Items[i]
	}
	return helper.DefaultStorageClass(classes), nil
}

// DefaultStorageClass is upstream's DefaultStorageClass admission plugin: a new claim that asks
// for no class (no spec.storageClassName, no beta annotation) gets the default one, the newest
// when several are marked default.
type DefaultStorageClass struct {
	*admission.Handler
	classes storageClasses
}

var _ admission.MutationInterface = &DefaultStorageClass{}

// NewDefaultStorageClass reads classes through factory's informer.
func NewDefaultStorageClass(factory informers.SharedInformerFactory, client kubernetes.Interface) *DefaultStorageClass {
	classes, synced := newStorageClasses(factory, client)
	p := &DefaultStorageClass{Handler: admission.NewHandler(admission.Create), classes: classes}
	p.SetReadyFunc(synced)
	return p
}

// Admit sets the default class on a new claim without one.
func (p *DefaultStorageClass) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != pvcsResource || a.GetSubresource() != "" {
		return nil
	}
	pvc, ok := a.GetObject().(*corev1.PersistentVolumeClaim)
	if !ok || helper.PersistentVolumeClaimHasClass(pvc) {
		return nil
	}
	if !p.WaitForReady() {
		return admission.NewForbidden(a, fmt.Errorf("not yet ready to handle request"))
	}
	def, err := p.classes.defaultClass(ctx)
	if err != nil {
		return admission.NewForbidden(a, err)
	}
	if def != nil {
		pvc.Spec.StorageClassName = &def.Name
	}
	return nil
}

// StorageObjectInUseProtection is upstream's plugin of that name: new claims get the
// kubernetes.io/pvc-protection finalizer and new volumes kubernetes.io/pv-protection, which the
// protection controllers remove once nothing uses them. (Upstream also protects
// VolumeAttributesClasses; without a controller to release them here, they are left alone.)
type StorageObjectInUseProtection struct {
	*admission.Handler
}

var _ admission.MutationInterface = &StorageObjectInUseProtection{}

// NewStorageObjectInUseProtection returns the plugin.
func NewStorageObjectInUseProtection() *StorageObjectInUseProtection {
	return &StorageObjectInUseProtection{Handler: admission.NewHandler(admission.Create)}
}

// Admit adds the protection finalizer unless it is there.
func (p *StorageObjectInUseProtection) Admit(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetSubresource() != "" {
		return nil
	}
	var meta *metav1.ObjectMeta
	var finalizer string
	switch a.GetResource().GroupResource() {
	case pvcsResource:
		if pvc, ok := a.GetObject().(*corev1.PersistentVolumeClaim); ok {
			meta, finalizer = &pvc.ObjectMeta, helper.PVCProtectionFinalizer
		}
	case pvsResource:
		if pv, ok := a.GetObject().(*corev1.PersistentVolume); ok {
			meta, finalizer = &pv.ObjectMeta, helper.PVProtectionFinalizer
		}
	}
	if meta != nil && !slices.Contains(meta.Finalizers, finalizer) {
		meta.Finalizers = append(meta.Finalizers, finalizer)
	}
	return nil
}

// PersistentVolumeClaimResize is upstream's plugin of that name: a claim's storage request may
// grow only when the claim is bound and its class (the same before and after) allows volume
// expansion.
type PersistentVolumeClaimResize struct {
	*admission.Handler
	classes storageClasses
}

var _ admission.ValidationInterface = &PersistentVolumeClaimResize{}

// NewPersistentVolumeClaimResize reads classes through factory's informer.
func NewPersistentVolumeClaimResize(factory informers.SharedInformerFactory, client kubernetes.Interface) *PersistentVolumeClaimResize {
	classes, synced := newStorageClasses(factory, client)
	p := &PersistentVolumeClaimResize{Handler: admission.NewHandler(admission.Update), classes: classes}
	p.SetReadyFunc(synced)
	return p
}

// Validate refuses growing a claim that is not bound or whose class does not allow expansion.
func (p *PersistentVolumeClaimResize) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != pvcsResource || a.GetSubresource() != "" {
		return nil
	}
	pvc, ok1 := a.GetObject().(*corev1.PersistentVolumeClaim)
	old, ok2 := a.GetOldObject().(*corev1.PersistentVolumeClaim)
	if !ok1 || !ok2 {
		return nil
	}
	oldSize, newSize := old.Spec.Resources.Requests[corev1.ResourceStorage], pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) <= 0 {
		return nil
	}
	if old.Status.Phase != corev1.ClaimBound {
		return admission.NewForbidden(a, fmt.Errorf("Only bound persistent volume claims can be expanded"))
	}
	if !p.WaitForReady() {
		return admission.NewForbidden(a, fmt.Errorf("not yet ready to handle request"))
	}
	if !p.allowResize(ctx, pvc, old) {
		return admission.NewForbidden(a, fmt.Errorf("only dynamically provisioned pvc can be resized and "+
			"the storageclass that provisions the pvc must support resize"))
	}
	return nil
}

func (p *PersistentVolumeClaimResize) allowResize(ctx context.Context, pvc, old *corev1.PersistentVolumeClaim) bool {
	class := helper.PersistentVolumeClaimClass(pvc)
	if class == "" || class != helper.PersistentVolumeClaimClass(old) {
		return false
	}
	sc, err := p.classes.get(ctx, class)
	return err == nil && sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
}
