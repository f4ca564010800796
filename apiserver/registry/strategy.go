package registry

import (
	"context"
	"reflect"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/skiff-dev/skiff/apis/validation"
)

// Strategy implements the create, update, delete and reset-fields strategies for one Kind.
// status selects the status-subresource variant. Kinds with their own rules (CSRs, namespaces'
// finalize) embed it and override what differs.
type Strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
	kind   *Kind
	status bool
}

// NewStrategy returns the generic strategy of k: its main resource, or with status its status
// subresource.
func NewStrategy(typer runtime.ObjectTyper, k *Kind, status bool) *Strategy {
	return &Strategy{ObjectTyper: typer, NameGenerator: names.SimpleNameGenerator, kind: k, status: status}
}

func (s *Strategy) NamespaceScoped() bool { return s.kind.Namespaced }

// PrepareForCreate clears status when the kind has a status subresource (as upstream does for
// pods, services, workloads), starts generation at 1, and runs the kind's own hook.
func (s *Strategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	if s.kind.Status && !s.kind.KeepStatusOnCreate {
		setField(obj, "Status", nil)
	}
	if m, err := meta.Accessor(obj); err == nil && s.kind.Generation {
		m.SetGeneration(1)
	}
	if s.kind.PrepareForCreate != nil {
		s.kind.PrepareForCreate(obj)
	}
}

// PrepareForUpdate keeps the stored status on a main-resource update and the stored spec on a
// status update, and bumps generation when the spec changed.
func (s *Strategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	newMeta, err1 := meta.Accessor(obj)
	oldMeta, err2 := meta.Accessor(old)
	if err1 != nil || err2 != nil {
		return
	}
	if s.status {
		setField(obj, "Spec", getField(old, "Spec"))
		// Upstream status strategies also ignore metadata changes but for a few fields.
		newMeta.SetGeneration(oldMeta.GetGeneration())
		if s.kind.PrepareForStatusUpdate != nil {
			s.kind.PrepareForStatusUpdate(obj, old)
		}
		return
	}
	if s.kind.Status {
		setField(obj, "Status", getField(old, "Status"))
	}
	newMeta.SetGeneration(oldMeta.GetGeneration())
	if s.kind.Generation && contentChanged(obj, old) {
		newMeta.SetGeneration(oldMeta.GetGeneration() + 1)
	}
	if s.kind.PrepareForUpdate != nil {
		s.kind.PrepareForUpdate(obj, old)
	}
}

// contentChanged tells whether an update changes what generation tracks: the spec (or pod
// template) where the kind has one, otherwise everything but metadata, plus labels
// (EndpointSlices, as upstream).
func contentChanged(obj, old runtime.Object) bool {
	if spec := getField(obj, "Spec"); spec != nil {
		return !apiequality.Semantic.DeepEqual(spec, getField(old, "Spec"))
	}
	a, b := obj.DeepCopyObject(), old.DeepCopyObject()
	am, errA := meta.Accessor(a)
	bm, errB := meta.Accessor(b)
	if errA != nil || errB != nil {
		return false
	}
	if !apiequality.Semantic.DeepEqual(am.GetLabels(), bm.GetLabels()) {
		return true
	}
	setField(a, "ObjectMeta", nil)
	setField(b, "ObjectMeta", nil)
	setField(a, "TypeMeta", nil)
	setField(b, "TypeMeta", nil)
	return !apiequality.Semantic.DeepEqual(a, b)
}

func (s *Strategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	errs := validation.ValidateCreate(obj)
	if s.kind.Validate != nil {
		errs = append(errs, s.kind.Validate(ctx, obj, nil)...)
	}
	return errs
}

func (s *Strategy) WarningsOnCreate(ctx context.Context, obj runtime.Object) []string { return nil }

func (s *Strategy) Canonicalize(obj runtime.Object) {}

func (s *Strategy) AllowCreateOnUpdate(ctx context.Context) bool {
	return s.kind.AllowCreateOnUpdate && !s.status
}

func (s *Strategy) AllowUnconditionalUpdate(ctx context.Context) bool { return true }

func (s *Strategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	if s.status {
		return validation.ValidateStatusUpdate(obj, old)
	}
	errs := validation.ValidateUpdate(obj, old)
	if s.kind.Validate != nil {
		errs = append(errs, s.kind.Validate(ctx, obj, old)...)
	}
	return errs
}

func (s *Strategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}

// GetResetFields tells server-side apply which fields this endpoint never changes.
func (s *Strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	if !s.kind.Status {
		return nil
	}
	reset := "status"
	if s.status {
		reset = "spec"
	}
	return map[fieldpath.APIVersion]*fieldpath.Set{
		fieldpath.APIVersion(s.kind.GroupVersion.String()): fieldpath.NewSet(fieldpath.MakePathOrDie(reset)),
	}
}

// CheckGracefulDelete defers to the kind (pods); other kinds are deleted at once.
func (s *Strategy) CheckGracefulDelete(ctx context.Context, obj runtime.Object, options *metav1.DeleteOptions) bool {
	if s.kind.GracefulDelete == nil {
		return false
	}
	return s.kind.GracefulDelete(obj, options)
}

// DefaultGarbageCollectionPolicy is background deletion for every kind, as for apps/v1, but
// for kinds that orphan by default.
func (s *Strategy) DefaultGarbageCollectionPolicy(ctx context.Context) rest.GarbageCollectionPolicy {
	if s.kind.OrphanDependents {
		return rest.OrphanDependents
	}
	return rest.DeleteDependents
}

// attrs returns the labels and the selectable fields of an object.
func (k *Kind) attrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, err
	}
	fs := fields.Set{"metadata.name": m.GetName()}
	if k.Namespaced {
		fs["metadata.namespace"] = m.GetNamespace()
	}
	if k.Fields != nil {
		fs = generic.MergeFieldsSets(fs, k.Fields(obj))
	}
	return labels.Set(m.GetLabels()), fs, nil
}

func (k *Kind) predicate(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
	p := storage.SelectionPredicate{Label: label, Field: field, GetAttrs: k.attrs}
	if k.IndexField != "" {
		p.IndexFields = []string{k.IndexField}
	}
	return p
}

func getField(obj runtime.Object, name string) any {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName(name)
	if !f.IsValid() {
		return nil
	}
	return f.Interface()
}

// setField sets a struct field by name; a nil value sets the zero value.
func setField(obj runtime.Object, name string, value any) {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return
	}
	f := v.Elem().FieldByName(name)
	if !f.IsValid() || !f.CanSet() {
		return
	}
	if value == nil {
		f.Set(reflect.Zero(f.Type()))
		return
	}
	f.Set(reflect.ValueOf(value))
}
