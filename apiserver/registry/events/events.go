package events

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/printers"
	"github.com/skiff-dev/skiff/apiserver/registry"
)

// eventsREST serves events.k8s.io/v1 Events from the core/v1 events storage, converting on the
// way in and out, as kube-apiserver does: an event written through either API is read through both.
type eventsREST struct {
	core  *genericregistry.Store
	table rest.TableConvertor
}

// Provider builds events.k8s.io/v1: its events are the core/v1 events of registry/core, which
// must be built first.
type Provider struct{}

func (Provider) GroupName() string { return eventsv1.GroupName }

func (Provider) NewRESTStorage(c *registry.Context) (map[string]map[string]rest.Storage, error) {
	core, ok := c.Stores[schema.GroupResource{Resource: "events"}]
	if !ok {
		return nil, fmt.Errorf("events.k8s.io needs the core/v1 events storage, which no group built")
	}
	return map[string]map[string]rest.Storage{eventsv1.SchemeGroupVersion.Version: {"events": newEventsREST(core.Store)}}, nil
}

func newEventsREST(core *genericregistry.Store) *eventsREST {
	return &eventsREST{core: core, table: printers.ForResource(eventsv1.SchemeGroupVersion.WithResource("events").GroupResource())}
}

var (
	_ rest.StandardStorage      = &eventsREST{}
	_ rest.ShortNamesProvider   = &eventsREST{}
	_ rest.SingularNameProvider = &eventsREST{}
)

func (r *eventsREST) New() runtime.Object     { return &eventsv1.Event{} }
func (r *eventsREST) NewList() runtime.Object { return &eventsv1.EventList{} }
func (r *eventsREST) Destroy()                {}
func (r *eventsREST) NamespaceScoped() bool   { return true }
func (r *eventsREST) ShortNames() []string    { return []string{"ev"} }
func (r *eventsREST) GetSingularName() string { return "event" }
func (r *eventsREST) toV1(obj runtime.Object) runtime.Object {
	if e, ok := obj.(*corev1.Event); ok {
		return EventToV1(e)
	}
	return obj
}

func (r *eventsREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	obj, err := r.core.Get(ctx, name, options)
	if err != nil {
		return nil, err
	}
	return r.toV1(obj), nil
}

func (r *eventsREST) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	opts, err := coreEventListOptions(options)
	if err != nil {
		return nil, err
	}
	obj, err := r.core.List(ctx, opts)
	if err != nil {
		return nil, err
	}
	return eventListToV1(obj.(*corev1.EventList)), nil
}

func (r *eventsREST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	e, ok := obj.(*eventsv1.Event)
	if !ok {
		return nil, fmt.Errorf("not an events.k8s.io/v1 Event: %T", obj)
	}
	out, err := r.core.Create(ctx, EventFromV1(e), createValidation, options)
	if err != nil {
		return nil, err
	}
	return r.toV1(out), nil
}

func (r *eventsREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	out, created, err := r.core.Update(ctx, name, &eventUpdate{inner: objInfo}, createValidation, updateValidation, forceAllowCreate, options)
	if err != nil {
		return nil, false, err
	}
	return r.toV1(out), created, nil
}

func (r *eventsREST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	out, done, err := r.core.Delete(ctx, name, deleteValidation, options)
	if err != nil {
		return nil, false, err
	}
	return r.toV1(out), done, nil
}

func (r *eventsREST) DeleteCollection(ctx context.Context, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions, listOptions *metainternalversion.ListOptions) (runtime.Object, error) {
	opts, err := coreEventListOptions(listOptions)
	if err != nil {
		return nil, err
	}
	out, err := r.core.DeleteCollection(ctx, deleteValidation, options, opts)
	if err != nil {
		return nil, err
	}
	if list, ok := out.(*corev1.EventList); ok {
		return eventListToV1(list), nil
	}
	return out, nil
}

func (r *eventsREST) Watch(ctx context.Context, options *metainternalversion.ListOptions) (watch.Interface, error) {
	opts, err := coreEventListOptions(options)
	if err != nil {
		return nil, err
	}
	w, err := r.core.Watch(ctx, opts)
	if err != nil {
		return nil, err
	}
	return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
		e.Object = r.toV1(e.Object)
		return e, true
	}), nil
}

func (r *eventsREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.table.ConvertToTable(ctx, object, tableOptions)
}

// eventUpdate presents the stored core event to an events.k8s.io update as a v1 event.
type eventUpdate struct{ inner rest.UpdatedObjectInfo }

func (u *eventUpdate) Preconditions() *metav1.Preconditions { return u.inner.Preconditions() }

func (u *eventUpdate) UpdatedObject(ctx context.Context, oldObj runtime.Object) (runtime.Object, error) {
	var old runtime.Object
	if e, ok := oldObj.(*corev1.Event); ok && e != nil {
		old = EventToV1(e)
	}
	obj, err := u.inner.UpdatedObject(ctx, old)
	if err != nil {
		return nil, err
	}
	e, ok := obj.(*eventsv1.Event)
	if !ok {
		return nil, fmt.Errorf("not an events.k8s.io/v1 Event: %T", obj)
	}
	return EventFromV1(e), nil
}

// eventsV1FieldLabels maps events.k8s.io field selectors onto the core event's fields.
var eventsV1FieldLabels = map[string]string{
	"regarding.kind": "involvedObject.kind", "regarding.namespace": "involvedObject.namespace",
	"regarding.name": "involvedObject.name", "regarding.uid": "involvedObject.uid",
	"regarding.apiVersion": "involvedObject.apiVersion", "regarding.resourceVersion": "involvedObject.resourceVersion",
	"regarding.fieldPath": "involvedObject.fieldPath", "reportingController": "reportingComponent",
}

func coreEventListOptions(options *metainternalversion.ListOptions) (*metainternalversion.ListOptions, error) {
	if options == nil || options.FieldSelector == nil {
		return options, nil
	}
	out := *options
	sel, err := options.FieldSelector.Transform(func(field, value string) (string, string, error) {
		if mapped, ok := eventsV1FieldLabels[field]; ok {
			return mapped, value, nil
		}
		return field, value, nil
	})
	if err != nil {
		return nil, err
	}
	out.FieldSelector = sel
	return &out, nil
}

func eventListToV1(list *corev1.EventList) *eventsv1.EventList {
	out := &eventsv1.EventList{ListMeta: list.ListMeta, Items: make([]eventsv1.Event, 0, len(list.Items))}
	for i := range list.Items {
		out.Items = append(out.Items, *EventToV1(&list.Items[i]))
	}
	return out
}

// EventToV1 converts a core/v1 Event to events.k8s.io/v1, as upstream's conversion does.
func EventToV1(in *corev1.Event) *eventsv1.Event {
	out := &eventsv1.Event{
		ObjectMeta:               in.ObjectMeta,
		EventTime:                in.EventTime,
		ReportingController:      in.ReportingController,
		ReportingInstance:        in.ReportingInstance,
		Action:                   in.Action,
		Reason:                   in.Reason,
		Regarding:                in.InvolvedObject,
		Related:                  in.Related,
		Note:                     in.Message,
		Type:                     in.Type,
		DeprecatedSource:         in.Source,
		DeprecatedFirstTimestamp: in.FirstTimestamp,
		DeprecatedLastTimestamp:  in.LastTimestamp,
		DeprecatedCount:          in.Count,
	}
	if in.Series != nil {
		out.Series = &eventsv1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
	return out
}

// EventFromV1 converts an events.k8s.io/v1 Event to core/v1.
func EventFromV1(in *eventsv1.Event) *corev1.Event {
	out := &corev1.Event{
		ObjectMeta:          in.ObjectMeta,
		EventTime:           in.EventTime,
		ReportingController: in.ReportingController,
		ReportingInstance:   in.ReportingInstance,
		Action:              in.Action,
		Reason:              in.Reason,
		InvolvedObject:      in.Regarding,
		Related:             in.Related,
		Message:             in.Note,
		Type:                in.Type,
		Source:              in.DeprecatedSource,
		FirstTimestamp:      in.DeprecatedFirstTimestamp,
		LastTimestamp:       in.DeprecatedLastTimestamp,
		Count:               in.DeprecatedCount,
	}
	if in.Series != nil {
		out.Series = &corev1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
	return out
}
