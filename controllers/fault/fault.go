package fault

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	oteltrace "go.opentelemetry.io/otel/trace"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	chaosv1alpha1 "github.com/skiff-dev/skiff/apis/chaos/v1alpha1"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/insight/trace"
)

// ControllerName is the controller's name and its events' source.
const ControllerName = "fault-controller"

// DefaultKillTimeout is how long a PodKill fault waits for the pods' nodes to kill the containers.
const DefaultKillTimeout = 2 * time.Minute

// podPollInterval is how often a running PodKill fault looks for pods that went away.
const podPollInterval = 5 * time.Second

// Reconciler drives Faults through their phases: it checks the target, starts the fault
// (phase Running, startTime) and ends it (Succeeded, endTime) after its duration, or once the
// nodes killed a PodKill fault's containers. The nodes carry the fault out: they watch Faults and
// act while one targeting them is Running.
type Reconciler struct {
	controllers.Base
	// KillTimeout bounds how long a PodKill fault waits for its nodes (DefaultKillTimeout).
	KillTimeout time.Duration
}

// SetupWithManager registers the controller; the manager's scheme must include chaos.skiff.dev.
func (r *Reconciler) SetupWithManager(mgr manager.Manager) error {
	opts := r.Complete(mgr, ControllerName)
	if r.KillTimeout <= 0 {
		r.KillTimeout = DefaultKillTimeout
	}
	return builder.ControllerManagedBy(mgr).
		Named("fault").
		For(&chaosv1alpha1.Fault{}).
		WithOptions(opts).
		Complete(controllers.Traced("fault", "Fault", r.Client, func() client.Object { return &chaosv1alpha1.Fault{} }, r))
}

// Reconcile moves one Fault on.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	f := &chaosv1alpha1.Fault{}
	if err := r.Client.Get(ctx, req.NamespacedName, f); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if f.DeletionTimestamp != nil {
		return reconcile.Result{}, nil
	}
	switch f.Status.Phase {
	case chaosv1alpha1.FaultSucceeded, chaosv1alpha1.FaultFailed:
		return reconcile.Result{}, nil
	case chaosv1alpha1.FaultRunning:
		return r.running(ctx, f)
	default:
		return r.start(ctx, f)
	}
}

// start checks the target and injects the fault (phase Running) or fails it.
func (r *Reconciler) start(ctx context.Context, f *chaosv1alpha1.Fault) (reconcile.Result, error) {
	now := metav1.NewTime(r.Clock.Now())
	f.Status.ObservedGeneration = f.Generation
	if msg := validate(f); msg != "" {
		return r.fail(ctx, f, chaosv1alpha1.ReasonInvalid, msg, now)
	}
	switch f.Spec.Type {
	case chaosv1alpha1.NodeHeartbeat, chaosv1alpha1.ImagePull:
		name := f.NodeName()
		f.Status.Target = "node/" + name
		node := &corev1.Node{}
		if err := r.APIReader.Get(ctx, client.ObjectKey{Name: name}, node); apierrors.IsNotFound(err) {
			return r.fail(ctx, f, chaosv1alpha1.ReasonNodeNotFound, fmt.Sprintf("nodes %q not found", name), now)
		} else if err != nil {
			return reconcile.Result{}, fmt.Errorf("reading node %s: %w", name, err)
		}
		// The fault's story goes on with the node's (insight/trace).
		oteltrace.SpanFromContext(ctx).SetAttributes(trace.Effects([]types.UID{node.UID}))
		if f.Spec.Type == chaosv1alpha1.NodeHeartbeat {
			f.Status.Message = fmt.Sprintf("Node %s stops renewing its Lease and posting its status for %s", name, f.Spec.Duration.Duration)
		} else {
			f.Status.Message = fmt.Sprintf("Image pulls of %s on node %s fail for %s", imagesText(f), name, f.Spec.Duration.Duration)
		}
	case chaosv1alpha1.PodKill:
		pods, target, err := r.targetPods(ctx, f)
		if err != nil {
			return reconcile.Result{}, err
		}
		f.Status.Target = target
		if len(pods) == 0 {
			return r.fail(ctx, f, chaosv1alpha1.ReasonNoMatchingPods, noPodsMessage(f), now)
		}
		f.Status.Pods = pods
		uids := make([]types.UID, len(pods))
		for i, p := range pods {
			uids[i] = p.UID
		}
		oteltrace.SpanFromContext(ctx).SetAttributes(trace.Effects(uids))
		f.Status.Message = fmt.Sprintf("Killing the containers of %d pod(s)", len(pods))
	}
	f.Status.Phase = chaosv1alpha1.FaultRunning
	f.Status.StartTime = &now
	apimeta.SetStatusCondition(&f.Status.Conditions, metav1.Condition{Type: chaosv1alpha1.ConditionInjected,
		Status: metav1.ConditionTrue, Reason: chaosv1alpha1.ReasonInjected, Message: f.Status.Message,
		ObservedGeneration: f.Generation, LastTransitionTime: now})
	if err := r.Client.Status().Update(ctx, f); err != nil {
		return reconcile.Result{}, fmt.Errorf("starting fault %s: %w", klog.KObj(f), err)
	}
	klog.FromContext(ctx).Info("Fault started", "fault", klog.KObj(f), "type", f.Spec.Type, "target", f.Status.Target)
	r.Recorder.Event(f, corev1.EventTypeNormal, "Started", f.Status.Message)
	return r.requeue(f, now.Time), nil
}

// running ends a fault whose time is up, or a PodKill fault whose containers were all killed.
func (r *Reconciler) running(ctx context.Context, f *chaosv1alpha1.Fault) (reconcile.Result, error) {
	now := r.Clock.Now()
	switch f.Spec.Type {
	case chaosv1alpha1.NodeHeartbeat, chaosv1alpha1.ImagePull:
		end, ok := f.EndsAt()
		if !ok {
			return r.fail(ctx, f, chaosv1alpha1.ReasonInvalid, "running without startTime or duration", metav1.NewTime(now))
		}
		if now.Before(end) {
			return reconcile.Result{RequeueAfter: end.Sub(now)}, nil
		}
		msg := fmt.Sprintf("Node %s renews its Lease and posts its status again after %s", f.NodeName(), f.Spec.Duration.Duration)
		if f.Spec.Type == chaosv1alpha1.ImagePull {
			msg = fmt.Sprintf("Image pulls on node %s work again after %s", f.NodeName(), f.Spec.Duration.Duration)
		}
		return r.succeed(ctx, f, msg, metav1.NewTime(end))
	case chaosv1alpha1.PodKill:
		return r.runningPodKill(ctx, f, now)
	}
	return r.fail(ctx, f, chaosv1alpha1.ReasonInvalid, fmt.Sprintf("unknown type %q", f.Spec.Type), metav1.NewTime(now))
}

func (r *Reconciler) runningPodKill(ctx context.Context, f *chaosv1alpha1.Fault, now time.Time) (reconcile.Result, error) {
	var killed, gone int
	var last time.Time
	var waiting []string
	for _, p := range f.Status.Pods {
		if p.KillTime != nil {
			killed++
			if p.KillTime.After(last) {
				last = p.KillTime.Time
			}
			continue
		}
		pod := &corev1.Pod{}
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: f.Namespace, Name: p.Name}, pod)
		if apierrors.IsNotFound(err) || err == nil && (pod.UID != p.UID || pod.DeletionTimestamp != nil || isTerminal(pod)) {
			gone++
			continue
		}
		if err != nil {
			return reconcile.Result{}, fmt.Errorf("reading pod %s/%s: %w", f.Namespace, p.Name, err)
		}
		waiting = append(waiting, fmt.Sprintf("pod %s on node %s", p.Name, p.NodeName))
	}
	if len(waiting) > 0 {
		start := now
		if f.Status.StartTime != nil {
			start = f.Status.StartTime.Time
		}
		deadline := start.Add(r.KillTimeout)
		if !now.Before(deadline) {
			return r.fail(ctx, f, chaosv1alpha1.ReasonKillTimeout,
				fmt.Sprintf("The containers of %s were not killed within %s", strings.Join(waiting, ", "), r.KillTimeout), metav1.NewTime(now))
		}
		return reconcile.Result{RequeueAfter: min(podPollInterval, deadline.Sub(now))}, nil
	}
	if killed == 0 {
		return r.fail(ctx, f, chaosv1alpha1.ReasonPodsGone, "Every target pod went away before its containers were killed", metav1.NewTime(now))
	}
	msg := fmt.Sprintf("Killed the containers of %d pod(s)", killed)
	if gone > 0 {
		msg += fmt.Sprintf("; %d pod(s) went away first", gone)
	}
	return r.succeed(ctx, f, msg, metav1.NewTime(last))
}

func (r *Reconciler) succeed(ctx context.Context, f *chaosv1alpha1.Fault, msg string, end metav1.Time) (reconcile.Result, error) {
	f.Status.Phase = chaosv1alpha1.FaultSucceeded
	f.Status.EndTime = &end
	f.Status.Message = msg
	apimeta.SetStatusCondition(&f.Status.Conditions, metav1.Condition{Type: chaosv1alpha1.ConditionInjected,
		Status: metav1.ConditionFalse, Reason: chaosv1alpha1.ReasonEnded, Message: msg,
		ObservedGeneration: f.Generation, LastTransitionTime: metav1.NewTime(r.Clock.Now())})
	if err := r.Client.Status().Update(ctx, f); err != nil {
		return reconcile.Result{}, fmt.Errorf("ending fault %s: %w", klog.KObj(f), err)
	}
	klog.FromContext(ctx).Info("Fault ended", "fault", klog.KObj(f), "type", f.Spec.Type)
	r.Recorder.Event(f, corev1.EventTypeNormal, "Ended", msg)
	return reconcile.Result{}, nil
}

func (r *Reconciler) fail(ctx context.Context, f *chaosv1alpha1.Fault, reason, msg string, now metav1.Time) (reconcile.Result, error) {
	f.Status.Phase = chaosv1alpha1.FaultFailed
	f.Status.EndTime = &now
	f.Status.Message = msg
	apimeta.SetStatusCondition(&f.Status.Conditions, metav1.Condition{Type: chaosv1alpha1.ConditionInjected,
		Status: metav1.ConditionFalse, Reason: reason, Message: msg,
		ObservedGeneration: f.Generation, LastTransitionTime: now})
	if err := r.Client.Status().Update(ctx, f); err != nil {
		return reconcile.Result{}, fmt.Errorf("failing fault %s: %w", klog.KObj(f), err)
	}
	klog.FromContext(ctx).Info("Fault failed", "fault", klog.KObj(f), "reason", reason, "message", msg)
	r.Recorder.Event(f, corev1.EventTypeWarning, "Failed", msg)
	return reconcile.Result{}, nil
}

// requeue is when to look at a just-started fault again.
func (r *Reconciler) requeue(f *chaosv1alpha1.Fault, now time.Time) reconcile.Result {
	if end, ok := f.EndsAt(); ok {
		return reconcile.Result{RequeueAfter: max(end.Sub(now), time.Millisecond)}
	}
	return reconcile.Result{RequeueAfter: min(podPollInterval, r.KillTimeout)}
}

// validate checks what the CRD schema cannot: a positive duration.
func validate(f *chaosv1alpha1.Fault) string {
	switch f.Spec.Type {
	case chaosv1alpha1.NodeHeartbeat, chaosv1alpha1.ImagePull:
		if f.NodeName() == "" {
			return fmt.Sprintf("spec.%s.nodeName: Required value", lowerFirst(string(f.Spec.Type)))
		}
		if f.Spec.Duration == nil || f.Spec.Duration.Duration <= 0 {
			return "spec.duration: Invalid value: must be positive"
		}
	case chaosv1alpha1.PodKill:
		pk := f.Spec.PodKill
		if pk == nil || (pk.PodName == "") == (pk.Selector == nil) {
			return "spec.podKill: Invalid value: exactly one of podName and selector must be set"
		}
		if pk.Selector != nil {
			if _, err := metav1.LabelSelectorAsSelector(pk.Selector); err != nil {
				return fmt.Sprintf("spec.podKill.selector: Invalid value: %v", err)
			}
		}
	default:
		return fmt.Sprintf("spec.type: Unsupported value: %q", f.Spec.Type)
	}
	return ""
}

// targetPods lists the live, scheduled pods a PodKill fault hits, and the target text.
func (r *Reconciler) targetPods(ctx context.Context, f *chaosv1alpha1.Fault) ([]chaosv1alpha1.FaultPod, string, error) {
	pk := f.Spec.PodKill
	var candidates []corev1.Pod
	target := "pod/" + pk.PodName
	if pk.PodName != "" {
		pod := &corev1.Pod{}
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: f.Namespace, Name: pk.PodName}, pod)
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, target, fmt.Errorf("reading pod %s/%s: %w", f.Namespace, pk.PodName, err)
		}
		if err == nil {
			candidates = append(candidates, *pod)
		}
	} else {
		sel, _ := metav1.LabelSelectorAsSelector(pk.Selector)
		list := &corev1.PodList{}
		if err := r.APIReader.List(ctx, list, client.InNamespace(f.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
			return nil, "", fmt.Errorf("listing pods: %w", err)
		}
		candidates = list.Items
		target = "pods/" + selectorText(sel)
	}
	var out []chaosv1alpha1.FaultPod
	for _, p := range candidates {
		if p.Spec.NodeName == "" || p.DeletionTimestamp != nil || isTerminal(&p) {
			continue
		}
		out = append(out, chaosv1alpha1.FaultPod{Name: p.Name, UID: p.UID, NodeName: p.Spec.NodeName})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if pk.PodName == "" {
		target = fmt.Sprintf("%s (%d)", target, len(out))
	}
	return out, target, nil
}

func noPodsMessage(f *chaosv1alpha1.Fault) string {
	if pk := f.Spec.PodKill; pk.PodName != "" {
		return fmt.Sprintf("pods %q not found, or not running on a node", pk.PodName)
	}
	sel, _ := metav1.LabelSelectorAsSelector(f.Spec.PodKill.Selector)
	return fmt.Sprintf("No running pods in namespace %s match %s", f.Namespace, selectorText(sel))
}

func selectorText(sel labels.Selector) string {
	if sel.Empty() {
		return "<all>"
	}
	return sel.String()
}

func imagesText(f *chaosv1alpha1.Fault) string {
	if f.Spec.ImagePull == nil || len(f.Spec.ImagePull.Images) == 0 {
		return "every image"
	}
	return strings.Join(f.Spec.ImagePull.Images, ", ")
}

func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
