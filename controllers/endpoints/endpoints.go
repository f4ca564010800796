package endpoints

import (
	"context"
	"errors"
	"time"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/insight/trace"

	"go.opentelemetry.io/otel"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// ControllerName names the controller and its events' source.
const ControllerName = "endpoint-controller"

// tracedName is the controller's name in its spans' component (controller:endpoints).
const tracedName = "endpoints"

// LastChangeTriggerTimeAnnotation records when the last pod or service change that altered
// the endpoints happened (here: when the controller wrote them).
const LastChangeTriggerTimeAnnotation = corev1.EndpointsLastChangeTriggerTime

// Reconciler keeps the Endpoints and EndpointSlices of Services with selectors.
type Reconciler struct {
	controllers.Base
	// Clock stamps the last-change-trigger-time annotation; nil is the real clock.
	Clock clock.PassiveClock
	// MaxEndpointsPerSlice defaults to 100.
	MaxEndpointsPerSlice int
}

// SetupWithManager fills defaults and registers the controller with mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	opts := r.Complete(mgr, ControllerName)
	r.defaults()
	return ctrl.NewControllerManagedBy(mgr).
		Named(tracedName).
		For(&corev1.Service{}).
		Watches(&corev1.Pod{}, controllers.TracedWatch(tracedName, "Pod", &podHandler{r: r})).
		Watches(&corev1.Endpoints{}, handler.Funcs{
			// Recreate an Endpoints object someone deleted.
			DeleteFunc: func(_ context.Context, e event.TypedDeleteEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(e.Object)})
			},
		}).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(sliceToService)).
		WithOptions(opts).
		Complete(controllers.Traced(tracedName, "Service", r.Client, func() client.Object { return &corev1.Service{} }, r))
}

func (r *Reconciler) defaults() {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.MaxEndpointsPerSlice <= 0 {
		r.MaxEndpointsPerSlice = MaxEndpointsPerSlice
	}
	if r.APIReader == nil {
		r.APIReader = r.Client
	}
}

func sliceToService(_ context.Context, obj client.Object) []reconcile.Request {
	l := obj.GetLabels()
	if l[LabelManagedBy] != ManagedByValue || l[LabelServiceName] == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: l[LabelServiceName]}}}
}

// Reconcile syncs one Service's Endpoints and EndpointSlices.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	r.defaults()
	svc := &corev1.Service{}
	if err := r.Client.Get(ctx, req.NamespacedName, svc); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, r.serviceGone(ctx, req.NamespacedName)
	}
	if svc.Spec.Selector == nil || svc.DeletionTimestamp != nil {
		// Selectorless Services' endpoints belong to their users.
		return ctrl.Result{}, nil
	}
	podList := &corev1.PodList{}
	if err := r.Client.List(ctx, podList, client.InNamespace(svc.Namespace),
		client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(svc.Spec.Selector)}); err != nil {
		return ctrl.Result{}, err
	}
	pods := make([]*corev1.Pod, len(podList.Items))
	for i := range podList.Items {
		pods[i] = &podList.Items[i]
	}
	errEP := r.syncEndpoints(ctx, svc, pods)
	var errSlices error
	if svc.Spec.Type != corev1.ServiceTypeExternalName {
		errSlices = r.syncSlices(ctx, svc, pods)
	}
	err := errors.Join(errEP, errSlices)
	if apierrors.IsConflict(errEP) || apierrors.IsConflict(errSlices) || apierrors.IsAlreadyExists(errEP) {
		return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
	}
	return ctrl.Result{}, err
}

// serviceGone deletes the Endpoints of a deleted Service and the slices made for it (the
// garbage collector would too, through their owner references).
func (r *Reconciler) serviceGone(ctx context.Context, key types.NamespacedName) error {
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	if err := r.Client.Delete(ctx, ep); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	slices := &discoveryv1.EndpointSliceList{}
	if err := r.APIReader.List(ctx, slices, client.InNamespace(key.Namespace),
		client.MatchingLabels{LabelServiceName: key.Name, LabelManagedBy: ManagedByValue}); err != nil {
		return err
	}
	for i := range slices.Items {
		if err := r.Client.Delete(ctx, &slices.Items[i]); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

func (r *Reconciler) syncEndpoints(ctx context.Context, svc *corev1.Service, pods []*corev1.Pod) error {
	subsets, truncated := ComputeSubsets(svc, pods)
	want := EndpointsLabels(svc)
	cur := &corev1.Endpoints{}
	err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(svc), cur)
	create := apierrors.IsNotFound(err)
	if err != nil && !create {
		return err
	}
	if !create {
		_, overCap := cur.Annotations[OverCapacityAnnotation]
		if apiequality.Semantic.DeepEqual(normalize(cur.Subsets), normalize(subsets)) &&
			labelsEqual(cur.Labels, want) && overCap == truncated {
			return nil
		}
	}
	ep := cur.DeepCopy()
	if create {
		ep = &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace}}
	}
	ep.Subsets = subsets
	ep.Labels = want
	if ep.Annotations == nil {
		ep.Annotations = map[string]string{}
	}
	ep.Annotations[LastChangeTriggerTimeAnnotation] = r.Clock.Now().UTC().Format(time.RFC3339Nano)
	if truncated {
		ep.Annotations[OverCapacityAnnotation] = "truncated"
	} else {
		delete(ep.Annotations, OverCapacityAnnotation)
	}
	if create {
		err = r.Client.Create(ctx, ep)
	} else {
		err = r.Client.Update(ctx, ep)
	}
	if err != nil && !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) &&
		!apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		r.Recorder.Eventf(svc, corev1.EventTypeWarning, "FailedToUpdateEndpoint", "Failed to update endpoint %s/%s: %v", svc.Namespace, svc.Name, err)
	}
	return err
}

// normalize treats nil and empty address lists alike.
func normalize(s []corev1.EndpointSubset) []corev1.EndpointSubset {
	if len(s) == 0 {
		return nil
	}
	out := make([]corev1.EndpointSubset, len(s))
	for i, x := range s {
		out[i] = *x.DeepCopy()
		if len(out[i].Addresses) == 0 {
			out[i].Addresses = nil
		}
		if len(out[i].NotReadyAddresses) == 0 {
			out[i].NotReadyAddresses = nil
		}
		if len(out[i].Ports) == 0 {
			out[i].Ports = nil
		}
	}
	return out
}

func labelsEqual(a, b map[string]string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return apiequality.Semantic.DeepEqual(a, b)
}

func (r *Reconciler) syncSlices(ctx context.Context, svc *corev1.Service, pods []*corev1.Pod) error {
	list := &discoveryv1.EndpointSliceList{}
	if err := r.APIReader.List(ctx, list, client.InNamespace(svc.Namespace),
		client.MatchingLabels{LabelServiceName: svc.Name, LabelManagedBy: ManagedByValue}); err != nil {
		return err
	}
	byType := map[discoveryv1.AddressType][]*discoveryv1.EndpointSlice{}
	for i := range list.Items {
		s := &list.Items[i]
		if s.DeletionTimestamp != nil {
			continue
		}
		// Slices owned by an earlier Service of the same name are not ours to reuse.
		if ref := metav1.GetControllerOf(s); ref != nil && ref.UID != svc.UID {
			byType[""] = append(byType[""], s)
			continue
		}
		byType[s.AddressType] = append(byType[s.AddressType], s)
	}
	var plan SlicePlan
	wanted := map[discoveryv1.AddressType]bool{}
	for _, at := range AddressTypes(svc) {
		wanted[at] = true
		p := PlanSlices(svc, at, byType[at], ComputeSliceEndpoints(svc, pods, at), r.MaxEndpointsPerSlice)
		plan.Create = append(plan.Create, p.Create...)
		plan.Update = append(plan.Update, p.Update...)
		plan.Delete = append(plan.Delete, p.Delete...)
	}
	for at, slices := range byType {
		if !wanted[at] {
			plan.Delete = append(plan.Delete, slices...)
		}
	}
	var errs []error
	// As upstream's EndpointSlice controller: written slices carry the time of the change, from
	// which the proxies measure their network programming latency.
	changedAt := r.Clock.Now().UTC().Format(time.RFC3339Nano)
	for _, s := range append(append([]*discoveryv1.EndpointSlice(nil), plan.Create...), plan.Update...) {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[LastChangeTriggerTimeAnnotation] = changedAt
	}
	current := make(map[string]*discoveryv1.EndpointSlice, len(list.Items))
	for i := range list.Items {
		current[list.Items[i].Name] = &list.Items[i]
	}
	// Create and update before deleting, so that consumers never see a gap.
	for _, s := range plan.Create {
		if err := r.writeSlice(ctx, "create", nil, s, func(ctx context.Context) error { return r.Client.Create(ctx, s) }); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range plan.Update {
		if err := r.writeSlice(ctx, "update", current[s.Name], s, func(ctx context.Context) error { return r.Client.Update(ctx, s) }); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range plan.Delete {
		err := r.writeSlice(ctx, "delete", s, nil, func(ctx context.Context) error {
			return r.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID})
		})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	err := errors.Join(errs...)
	if err != nil && !apierrors.IsConflict(err) && !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		r.Recorder.Eventf(svc, corev1.EventTypeWarning, "FailedToUpdateEndpointSlices", "Error updating Endpoint Slices for Service %s/%s: %v", svc.Namespace, svc.Name, err)
	}
	return err
}

// writeSlice makes one slice write (create: before is nil; delete: after is nil) a span
// "<verb> EndpointSlice <name>: <pods and how their endpoints changed>" under the reconcile's,
// whose skiff.related_uids name those pods: a pod's trace shows the write that made it an
// endpoint, ready, or took it away (insight/trace).
func (r *Reconciler) writeSlice(ctx context.Context, verb string, before, after *discoveryv1.EndpointSlice, write func(context.Context) error) error {
	ctx, span := otel.Tracer(trace.ScopeName).Start(ctx, "write EndpointSlice")
	if !span.IsRecording() {
		return write(ctx)
	}
	defer span.End()
	changes := helper.EndpointChanges(helper.PodEndpoints(before), helper.PodEndpoints(after))
	err := write(ctx)
	obj := after
	if obj == nil {
		obj = before
	}
	span.SetName(SliceWriteName(verb, obj.Name, changes))
	span.SetAttributes(trace.Component(trace.Controller(tracedName)), trace.Related(helper.ChangedUIDs(changes)))
	span.SetAttributes(trace.Object("EndpointSlice", obj)...)
	if err != nil {
		span.RecordError(err)
	}
	return err
}

// SliceWriteName names the span of a slice write: "update EndpointSlice web-x7k2p: web-1 ready".
func SliceWriteName(verb, slice string, changes []helper.EndpointChange) string {
	name := verb + " EndpointSlice " + slice
	if len(changes) > 0 {
		name += ": " + helper.SummarizeEndpointChanges(changes)
	}
	return name
}

// podHandler enqueues the Services selecting a pod (before and after a label change).
type podHandler struct{ r *Reconciler }

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

func (h *podHandler) Create(ctx context.Context, e event.TypedCreateEvent[client.Object], q queue) {
	h.enqueue(ctx, e.Object, q)
}

func (h *podHandler) Update(ctx context.Context, e event.TypedUpdateEvent[client.Object], q queue) {
	if e.ObjectNew.GetResourceVersion() == e.ObjectOld.GetResourceVersion() {
		return
	}
	h.enqueue(ctx, e.ObjectNew, q)
	if !apiequality.Semantic.DeepEqual(e.ObjectNew.GetLabels(), e.ObjectOld.GetLabels()) {
		h.enqueue(ctx, e.ObjectOld, q)
	}
}

func (h *podHandler) Delete(ctx context.Context, e event.TypedDeleteEvent[client.Object], q queue) {
	h.enqueue(ctx, e.Object, q)
}

func (h *podHandler) Generic(context.Context, event.TypedGenericEvent[client.Object], queue) {}

func (h *podHandler) enqueue(ctx context.Context, pod client.Object, q queue) {
	list := &corev1.ServiceList{}
	if err := h.r.Client.List(ctx, list, client.InNamespace(pod.GetNamespace())); err != nil {
		return
	}
	for i := range list.Items {
		sel := list.Items[i].Spec.Selector
		if sel == nil || !labels.SelectorFromSet(sel).Matches(labels.Set(pod.GetLabels())) {
			continue
		}
		q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
}
