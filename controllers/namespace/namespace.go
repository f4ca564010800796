package namespace

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// ControllerName names the controller in logs and as the events' reporting controller.
const ControllerName = "namespace-controller"

// finalizerToken is the spec finalizer this controller owns.
const finalizerToken = corev1.FinalizerKubernetes

// Config tunes the controller; zero fields take the defaults.
type Config struct {
	// Workers is the number of namespaces deleted at once (default 10, upstream's
	// --concurrent-namespace-syncs).
	Workers int
	// FinalizerEstimate is how long objects with finalizers are expected to take (default 15s,
	// upstream's); the namespace is looked at again after half of it.
	FinalizerEstimate time.Duration
	// SkipNameValidation allows more than one manager with this controller in a process
	// (tests); controller-runtime otherwise insists on unique controller names.
	SkipNameValidation bool
}

func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = 10
	}
	if c.FinalizerEstimate <= 0 {
		c.FinalizerEstimate = 15 * time.Second
	}
	return c
}

// Reconciler deletes the content of terminating namespaces, then the namespaces.
type Reconciler struct {
	cfg       Config
	client    kubernetes.Interface
	metadata  metadata.Interface
	discovery discovery.DiscoveryInterface
	recorder  events.EventRecorder
	// unsupported remembers operations a resource turned out not to support.
	unsupported sync.Map // operationKey → true
}

type operationKey struct {
	verb string
	gvr  schema.GroupVersionResource
}

// SetupWithManager adds the controller with cfg to mgr.
func SetupWithManager(mgr ctrl.Manager, cfg Config) error {
	cfg = cfg.withDefaults()
	cs, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("clientset: %w", err)
	}
	mc, err := metadata.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("metadata client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("discovery client: %w", err)
	}
	r := &Reconciler{cfg: cfg, client: cs, metadata: mc, discovery: dc, recorder: mgr.GetEventRecorder(ControllerName)}
	terminating := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetDeletionTimestamp() != nil })
	return ctrl.NewControllerManagedBy(mgr).
		Named("namespace").
		For(&corev1.Namespace{}, builder.WithPredicates(terminating)).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: cfg.Workers,
			SkipNameValidation:      &cfg.SkipNameValidation,
			// Upstream's: exponential per item up to a minute, 10 qps overall.
			RateLimiter: workqueue.NewTypedMaxOfRateLimiter(
				workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, 60*time.Second),
				&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
			),
		}).
		Complete(r)
}

// Reconcile moves one terminating namespace towards removal.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	logger := log.FromContext(ctx)
	ns, err := r.client.CoreV1().Namespaces().Get(ctx, req.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return reconcile.Result{}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	if ns.DeletionTimestamp == nil {
		return reconcile.Result{}, nil
	}
	if ns, err = r.ensureTerminating(ctx, ns); err != nil {
		return reconcile.Result{}, ignoreNotFound(err)
	}
	if len(ns.Spec.Finalizers) == 0 {
		return reconcile.Result{}, r.deleteNamespace(ctx, ns)
	}
	if !hasFinalizer(ns.Spec.Finalizers, finalizerToken) {
		// Only other parties' finalizers remain.
		return reconcile.Result{}, nil
	}
	start := time.Now()
	estimate, err := r.deleteAllContent(ctx, ns)
	if err != nil {
		r.recorder.Eventf(ns, nil, corev1.EventTypeWarning, "NamespaceDeletionFailed", "DeleteContent", "%v", err)
		return reconcile.Result{}, err
	}
	if estimate > 0 {
		after := estimate/2 + time.Second
		logger.V(1).Info("content remains; looking again later", "estimate", estimate, "after", after)
		return reconcile.Result{RequeueAfter: after}, nil
	}
	ns, err = r.finalize(ctx, ns)
	if err != nil {
		return reconcile.Result{}, ignoreNotFound(err)
	}
	logger.Info("namespace content removed", "took", time.Since(start).Round(time.Millisecond))
	if len(ns.Spec.Finalizers) == 0 {
		return reconcile.Result{}, r.deleteNamespace(ctx, ns)
	}
	return reconcile.Result{}, nil
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func hasFinalizer(list []corev1.FinalizerName, f corev1.FinalizerName) bool {
	for _, x := range list {
		if x == f {
			return true
		}
	}
	return false
}

// updateNamespace applies fn to the latest namespace, retrying on conflicts; it fails if the
// namespace was replaced by another with the same name.
func (r *Reconciler) updateNamespace(ctx context.Context, ns *corev1.Namespace, fn func(*corev1.Namespace) (*corev1.Namespace, error)) (*corev1.Namespace, error) {
	latest := ns
	var out *corev1.Namespace
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var err error
		out, err = fn(latest.DeepCopy())
		if !apierrors.IsConflict(err) {
			return err
		}
		fresh, gerr := r.client.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		if fresh.UID != ns.UID {
			return apierrors.NewNotFound(corev1.Resource("namespaces"), ns.Name)
		}
		latest = fresh
		return err
	})
	return out, err
}

// ensureTerminating sets status.phase Terminating (the API server normally already has).
func (r *Reconciler) ensureTerminating(ctx context.Context, ns *corev1.Namespace) (*corev1.Namespace, error) {
	if ns.Status.Phase == corev1.NamespaceTerminating {
		return ns, nil
	}
	return r.updateNamespace(ctx, ns, func(n *corev1.Namespace) (*corev1.Namespace, error) {
		if n.Status.Phase == corev1.NamespaceTerminating {
			return n, nil
		}
		n.Status.Phase = corev1.NamespaceTerminating
		return r.client.CoreV1().Namespaces().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	})
}

// finalize removes this controller's token from spec.finalizers.
func (r *Reconciler) finalize(ctx context.Context, ns *corev1.Namespace) (*corev1.Namespace, error) {
	return r.updateNamespace(ctx, ns, func(n *corev1.Namespace) (*corev1.Namespace, error) {
		var keep []corev1.FinalizerName
		for _, f := range n.Spec.Finalizers {
			if f != finalizerToken {
				keep = append(keep, f)
			}
		}
		if len(keep) == len(n.Spec.Finalizers) {
			return n, nil
		}
		n.Spec.Finalizers = keep
		return r.client.CoreV1().Namespaces().Finalize(ctx, n, metav1.UpdateOptions{})
	})
}

// deleteNamespace deletes the finalized namespace, which the API then removes.
func (r *Reconciler) deleteNamespace(ctx context.Context, ns *corev1.Namespace) error {
	uid := ns.UID
	err := r.client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return err
	}
	log.FromContext(ctx).Info("namespace deleted")
	return nil
}

// gvrInfo is a deletable namespaced resource and its verbs.
type gvrInfo struct {
	gvr   schema.GroupVersionResource
	verbs sets.Set[string]
}

// namespacedResources discovers the deletable namespaced resources; a partial discovery
// failure returns what was found along with the error.
func (r *Reconciler) namespacedResources() ([]gvrInfo, error) {
	lists, err := r.discovery.ServerPreferredNamespacedResources()
	var gdf *discovery.ErrGroupDiscoveryFailed
	if err != nil && !errors.As(err, &gdf) {
		return nil, err
	}
	var out []gvrInfo
	for _, l := range discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: []string{"delete"}}, lists) {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, res := range l.APIResources {
			out = append(out, gvrInfo{gvr: gv.WithResource(res.Name), verbs: sets.New[string](res.Verbs...)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].gvr.String() < out[j].gvr.String() })
	return out, err
}

// deleteAllContent deletes everything in ns and reports, through status conditions, what is
// left. It returns how long the remaining content is expected to take to go.
func (r *Reconciler) deleteAllContent(ctx context.Context, ns *corev1.Namespace) (time.Duration, error) {
	logger := log.FromContext(ctx)
	var errs []error
	conds := &conditionUpdater{}
	resources, err := r.namespacedResources()
	if err != nil {
		// Not fatal: delete what can be found, but do not finalize.
		errs = append(errs, err)
		conds.processDiscoveryErr(err)
		if resources == nil {
			r.updateConditions(ctx, ns, conds)
			return 0, err
		}
	}
	var estimate time.Duration
	left := newRemaining()
	for _, res := range resources {
		m, err := r.deleteAllContentFor(ctx, res, ns.Name, ns.DeletionTimestamp.Time)
		if err != nil {
			errs = append(errs, err)
			conds.processDeleteContentErr(err)
		}
		estimate = max(estimate, m.estimate)
		if m.remaining > 0 {
			left.byResource[res.gvr] += m.remaining
			for f, n := range m.finalizers {
				left.byFinalizer[f] += n
			}
		}
	}
	conds.processRemaining(left)
	r.updateConditions(ctx, ns, conds)
	if len(errs) > 0 {
		return estimate, utilerrors.NewAggregate(errs)
	}
	if estimate > 0 {
		logger.V(1).Info("namespace content remains", "resources", len(left.byResource), "finalizers", left.byFinalizer)
	}
	return estimate, nil
}

// updateConditions writes the deletion conditions when they changed.
func (r *Reconciler) updateConditions(ctx context.Context, ns *corev1.Namespace, conds *conditionUpdater) {
	_, err := r.updateNamespace(ctx, ns, func(n *corev1.Namespace) (*corev1.Namespace, error) {
		if !conds.apply(&n.Status) {
			return n, nil
		}
		return r.client.CoreV1().Namespaces().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	})
	if err != nil && !apierrors.IsNotFound(err) {
		log.FromContext(ctx).Error(err, "updating namespace status conditions")
	}
}

// contentResult is what one resource left behind.
type contentResult struct {
	estimate   time.Duration
	remaining  int
	finalizers map[string]int
}

func (r *Reconciler) supports(res gvrInfo, verb string) bool {
	if !res.verbs.Has(verb) {
		return false
	}
	_, no := r.unsupported.Load(operationKey{verb, res.gvr})
	return !no
}

func (r *Reconciler) notSupported(res gvrInfo, verb string, err error) bool {
	if apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err) {
		r.unsupported.Store(operationKey{verb, res.gvr}, true)
		return true
	}
	return false
}

var backgroundDelete = func() metav1.DeleteOptions {
	bg := metav1.DeletePropagationBackground
	return metav1.DeleteOptions{PropagationPolicy: &bg}
}

// deleteAllContentFor deletes every object of one resource in ns and counts what remains.
func (r *Reconciler) deleteAllContentFor(ctx context.Context, res gvrInfo, ns string, deletedAt time.Time) (contentResult, error) {
	var estimate time.Duration
	if res.gvr.Group == "" && res.gvr.Resource == "pods" {
		e, err := r.podsEstimate(ctx, ns, deletedAt)
		if err != nil {
			return contentResult{}, err
		}
		estimate = e
	}
	c := r.metadata.Resource(res.gvr).Namespace(ns)
	deleted := false
	if r.supports(res, "deletecollection") {
		err := c.DeleteCollection(ctx, backgroundDelete(), metav1.ListOptions{})
		switch {
		case err == nil:
			deleted = true
		case r.notSupported(res, "deletecollection", err):
		default:
			return contentResult{estimate: estimate}, err
		}
	}
	if !r.supports(res, "list") {
		return contentResult{estimate: estimate}, nil
	}
	if !deleted {
		list, err := c.List(ctx, metav1.ListOptions{})
		if err != nil {
			if r.notSupported(res, "list", err) {
				return contentResult{estimate: estimate}, nil
			}
			return contentResult{estimate: estimate}, err
		}
		for _, item := range list.Items {
			err := c.Delete(ctx, item.Name, backgroundDelete())
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
				return contentResult{estimate: estimate}, err
			}
		}
	}
	list, err := c.List(ctx, metav1.ListOptions{})
	if err != nil {
		if r.notSupported(res, "list", err) {
			return contentResult{estimate: estimate}, nil
		}
		return contentResult{estimate: estimate}, err
	}
	if len(list.Items) == 0 {
		return contentResult{}, nil
	}
	out := contentResult{estimate: estimate, remaining: len(list.Items), finalizers: map[string]int{}}
	for _, item := range list.Items {
		for _, f := range item.Finalizers {
			out.finalizers[f]++
		}
	}
	if estimate > 0 {
		return out, nil
	}
	if len(out.finalizers) > 0 {
		// Finalizers are normal: give their owners time.
		out.estimate = r.cfg.FinalizerEstimate
		return out, nil
	}
	return out, fmt.Errorf("unexpected items still remain in namespace: %s for gvr: %v", ns, res.gvr)
}

// podsEstimate is upstream's: the longest termination grace period of the pods not yet
// terminal, or zero once that long has passed since the namespace's deletion.
func (r *Reconciler) podsEstimate(ctx context.Context, ns string, deletedAt time.Time) (time.Duration, error) {
	pods, err := r.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	return podsEstimate(pods.Items, time.Since(deletedAt)), nil
}

func podsEstimate(pods []corev1.Pod, sinceDeletion time.Duration) time.Duration {
	var longest int64
	for i := range pods {
		p := &pods[i]
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if g := p.Spec.TerminationGracePeriodSeconds; g != nil && *g > longest {
			longest = *g
		}
	}
	estimate := time.Duration(longest) * time.Second
	if sinceDeletion >= estimate {
		return 0
	}
	return estimate
}
