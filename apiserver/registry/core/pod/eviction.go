package pod

import (
	"context"
	"fmt"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	policyv1beta1 "k8s.io/api/policy/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/util/retry"
	pdbhelper "k8s.io/component-helpers/apps/poddisruptionbudget"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// This file is pods/eviction, after upstream's EvictionREST: the pure decisions first, then the
// subresource that reads the pod and its PodDisruptionBudget, takes one disruption from the
// budget and deletes the pod.

// MaxDisruptedPodSize is upstream's cap on status.disruptedPods: beyond it evictions are refused
// until the disruption controller catches up.
const MaxDisruptedPodSize = 2000

// EvictionsRetry is upstream's back-off for conflicts on the budget and the pod.
var EvictionsRetry = wait.Backoff{Steps: 20, Duration: 500 * time.Millisecond, Factor: 1.0, Jitter: 0.1}

// budgetsGR is policy/v1 poddisruptionbudgets, built by the policy group's provider.
var budgetsGR = schema.GroupResource{Group: policyv1.GroupName, Resource: "poddisruptionbudgets"}

// canIgnoreBudget tells whether a pod may be deleted without asking its budget: it is terminal,
// not yet running, or already being deleted (it disrupts nothing more).
func canIgnoreBudget(pod *corev1.Pod) bool {
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed, corev1.PodPending:
		return true
	}
	return pod.DeletionTimestamp != nil
}

// shouldEnforceResourceVersion tells whether the delete must be conditioned on the pod's
// resourceVersion, so that a pod becoming ready meanwhile is not deleted on a stale decision.
func shouldEnforceResourceVersion(pod *corev1.Pod) bool {
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed:
		return false
	}
	return pod.DeletionTimestamp == nil
}

// budgetsFor returns the budgets of the pod's namespace whose selector matches it. An invalid,
// nil or empty selector matches nothing.
func budgetsFor(pod *corev1.Pod, budgets []policyv1.PodDisruptionBudget) []policyv1.PodDisruptionBudget {
	var out []policyv1.PodDisruptionBudget
	for _, pdb := range budgets {
		if pdb.Namespace != pod.Namespace {
			continue
		}
		selector, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || selector.Empty() || !selector.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, pdb)
	}
	return out
}

// unhealthyMayGo tells whether a pod that is not ready may be evicted without taking a
// disruption: always with unhealthyPodEvictionPolicy AlwaysAllow; with IfHealthyBudget (the
// default) only while the budget is met without it.
func unhealthyMayGo(pod *corev1.Pod, pdb *policyv1.PodDisruptionBudget) bool {
	if isPodReady(pod) {
		return false
	}
	if p := pdb.Spec.UnhealthyPodEvictionPolicy; p != nil && *p == policyv1.AlwaysAllow {
		return true
	}
	return pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy && pdb.Status.DesiredHealthy > 0
}

func isPodReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// takeDisruption is upstream's checkAndDecrement: it returns a copy of pdb with one disruption
// taken for podName at now (recorded in disruptedPods unless dryRun), or the error that refuses
// the eviction: 429 while the controller has not observed the budget's generation or no
// disruption is allowed, 403 for an inconsistent status.
func takeDisruption(pdb *policyv1.PodDisruptionBudget, podName string, now time.Time, dryRun bool) (*policyv1.PodDisruptionBudget, error) {
	if pdb.Status.ObservedGeneration < pdb.Generation {
		return nil, tooManyRequests(10, fmt.Sprintf("The disruption budget %s is still being processed by the server.", pdb.Name))
	}
	if pdb.Status.DisruptionsAllowed < 0 {
		return nil, apierrors.NewForbidden(budgetsGR, pdb.Name, fmt.Errorf("pdb disruptions allowed is negative"))
	}
	if len(pdb.Status.DisruptedPods) > MaxDisruptedPodSize {
		return nil, apierrors.NewForbidden(budgetsGR, pdb.Name, fmt.Errorf("DisruptedPods map too big - too many evictions not confirmed by PDB controller"))
	}
	if pdb.Status.DisruptionsAllowed == 0 {
		return nil, tooManyRequests(0, fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently",
			pdb.Name, pdb.Status.DesiredHealthy, pdb.Status.CurrentHealthy))
	}
	out := pdb.DeepCopy()
	out.Status.DisruptionsAllowed--
	if out.Status.DisruptionsAllowed == 0 {
		pdbhelper.UpdateDisruptionAllowedCondition(out)
	}
	if dryRun {
		return out, nil
	}
	if out.Status.DisruptedPods == nil {
		out.Status.DisruptedPods = map[string]metav1.Time{}
	}
	// The controller counts the pod as gone until it is deleted or the entry expires.
	out.Status.DisruptedPods[podName] = metav1.NewTime(now)
	return out, nil
}

// tooManyRequests is upstream's refusal of an eviction, with the DisruptionBudget cause.
func tooManyRequests(retryAfterSeconds int, cause string) *apierrors.StatusError {
	err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", retryAfterSeconds)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause, Message: cause})
	return err
}

// evictionDeleteOptions is upstream's propagateDryRun: the eviction's delete options carrying
// the request's dry-run, which must not contradict theirs.
func evictionDeleteOptions(eviction *policyv1.Eviction, options *metav1.CreateOptions) (*metav1.DeleteOptions, error) {
	var dryRun []string
	if options != nil {
		dryRun = options.DryRun
	}
	if eviction.DeleteOptions == nil {
		return &metav1.DeleteOptions{DryRun: dryRun}, nil
	}
	out := eviction.DeleteOptions.DeepCopy()
	switch {
	case len(out.DryRun) == 0:
		out.DryRun = dryRun
	case len(dryRun) > 0 && !reflect.DeepEqual(dryRun, out.DryRun):
		return nil, apierrors.NewBadRequest(fmt.Sprintf("Non-matching dry-run options in request and content: %v and %v", dryRun, out.DryRun))
	}
	return out, nil
}

func resourceVersionIsUnset(options *metav1.DeleteOptions) bool {
	return options.Preconditions == nil || options.Preconditions.ResourceVersion == nil
}

// withResourceVersion returns a copy of options conditioned on resourceVersion.
func withResourceVersion(options *metav1.DeleteOptions, resourceVersion string) *metav1.DeleteOptions {
	out := options.DeepCopy()
	if out.Preconditions == nil {
		out.Preconditions = &metav1.Preconditions{}
	}
	out.Preconditions.ResourceVersion = &resourceVersion
	return out
}

// evictionREST serves pods/eviction (policy/v1 Eviction).
type evictionREST struct {
	pods *genericregistry.Store
	// podStatus adds the DisruptionTarget condition before the delete.
	podStatus *genericregistry.Store
	// budgets and budgetStatus are the PodDisruptionBudgets' store and its status subresource.
	budgets      func() *genericregistry.Store
	budgetStatus func() rest.Updater
	now          func() time.Time
}

var (
	_ rest.NamedCreater             = &evictionREST{}
	_ rest.GroupVersionKindProvider = &evictionREST{}
	_ rest.GroupVersionAcceptor     = &evictionREST{}
	_ rest.Scoper                   = &evictionREST{}
)

func (r *evictionREST) New() runtime.Object     { return &policyv1.Eviction{} }
func (r *evictionREST) Destroy()                {}
func (r *evictionREST) NamespaceScoped() bool   { return true }
func (r *evictionREST) GetSingularName() string { return "eviction" }

// GroupVersionKind is what discovery lists for pods/eviction, as upstream.
func (r *evictionREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return policyv1.SchemeGroupVersion.WithKind("Eviction")
}

// AcceptsGroupVersion accepts policy/v1 and policy/v1beta1 bodies, as upstream.
func (r *evictionREST) AcceptsGroupVersion(gv schema.GroupVersion) bool {
	return gv == policyv1.SchemeGroupVersion || gv == policyv1beta1.SchemeGroupVersion
}

// addEvictionV1beta1 lets pods/eviction decode policy/v1beta1 Evictions (older clients): the
// kind alone is registered (the group version is not served) and converted to policy/v1, the
// policy group's internal version.
func addEvictionV1beta1(s *runtime.Scheme) error {
	s.AddKnownTypes(policyv1beta1.SchemeGroupVersion, &policyv1beta1.Eviction{})
	if err := s.AddConversionFunc((*policyv1beta1.Eviction)(nil), (*policyv1.Eviction)(nil), func(a, b any, _ conversion.Scope) error {
		in, out := a.(*policyv1beta1.Eviction), b.(*policyv1.Eviction)
		*out = policyv1.Eviction{TypeMeta: out.TypeMeta, ObjectMeta: *in.ObjectMeta.DeepCopy(), DeleteOptions: in.DeleteOptions.DeepCopy()}
		return nil
	}); err != nil {
		return fmt.Errorf("policy/v1beta1 Eviction conversion: %w", err)
	}
	return s.AddConversionFunc((*policyv1.Eviction)(nil), (*policyv1beta1.Eviction)(nil), func(a, b any, _ conversion.Scope) error {
		in, out := a.(*policyv1.Eviction), b.(*policyv1beta1.Eviction)
		*out = policyv1beta1.Eviction{TypeMeta: out.TypeMeta, ObjectMeta: *in.ObjectMeta.DeepCopy(), DeleteOptions: in.DeleteOptions.DeepCopy()}
		return nil
	})
}

// Create evicts the pod name: at once when it is terminal, pending or being deleted; otherwise
// after taking a disruption from its budget (429 when none is left).
func (r *evictionREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	eviction, ok := obj.(*policyv1.Eviction)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a Eviction object: %T", obj))
	}
	if name != eviction.Name {
		return nil, apierrors.NewBadRequest("name in URL does not match name in Eviction object")
	}
	deleteOptions, err := evictionDeleteOptions(eviction, options)
	if err != nil {
		return nil, err
	}
	if createValidation != nil {
		if err := createValidation(ctx, eviction.DeepCopyObject()); err != nil {
			return nil, err
		}
	}

	pod, deleted, err := r.deleteIfBudgetIgnored(ctx, name, deleteOptions)
	if err != nil {
		return nil, err
	}
	if deleted {
		return &metav1.Status{Status: metav1.StatusSuccess}, nil
	}

	list, err := r.budgets().List(ctx, &metainternalversion.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing PodDisruptionBudgets: %w", err)
	}
	budgets := budgetsFor(pod, list.(*policyv1.PodDisruptionBudgetList).Items)
	if len(budgets) > 1 {
		return &metav1.Status{Status: metav1.StatusFailure, Code: 500,
			Message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."}, nil
	}
	conditioned := false
	if len(budgets) == 1 {
		pdb := &budgets[0]
		if unhealthyMayGo(pod, pdb) {
			// The pod does not count as healthy: delete it unless it became ready meanwhile.
			conditioned = true
		} else if err := r.takeDisruption(ctx, pod.Name, pdb, len(deleteOptions.DryRun) > 0); err != nil {
			return nil, err
		}
	}
	opts := deleteOptions
	if conditioned {
		opts = withResourceVersion(deleteOptions, pod.ResourceVersion)
	}
	if err := r.markAndDelete(ctx, name, opts); err != nil {
		if apierrors.IsConflict(err) && conditioned && resourceVersionIsUnset(deleteOptions) {
			return nil, tooManyRequests(10, fmt.Sprintf("The disruption budget %s is still being processed by the server.", budgets[0].Name))
		}
		return nil, err
	}
	return &metav1.Status{Status: metav1.StatusSuccess}, nil
}

// deleteIfBudgetIgnored reads the pod and deletes it when no budget applies to it (retrying
// conflicts unless the caller set a resourceVersion precondition); deleted tells whether it did.
func (r *evictionREST) deleteIfBudgetIgnored(ctx context.Context, name string, options *metav1.DeleteOptions) (pod *corev1.Pod, deleted bool, err error) {
	shouldRetry := apierrors.IsConflict
	if !resourceVersionIsUnset(options) {
		shouldRetry = func(error) bool { return false }
	}
	err = retry.OnError(EvictionsRetry, shouldRetry, func() error {
		obj, err := r.pods.Get(ctx, name, &metav1.GetOptions{})
		if err != nil {
			return err
		}
		pod = obj.(*corev1.Pod)
		if !canIgnoreBudget(pod) {
			return nil
		}
		opts := options
		if shouldEnforceResourceVersion(pod) && resourceVersionIsUnset(options) {
			opts = withResourceVersion(options, pod.ResourceVersion)
		}
		if err := r.markAndDelete(ctx, name, opts); err != nil {
			return err
		}
		deleted = true
		return nil
	})
	return pod, deleted, err
}

// takeDisruption takes one disruption from the budget and records the pod in its status,
// re-reading it on conflicts.
func (r *evictionREST) takeDisruption(ctx context.Context, podName string, pdb *policyv1.PodDisruptionBudget, dryRun bool) error {
	refresh := false
	err := retry.RetryOnConflict(EvictionsRetry, func() error {
		if refresh {
			obj, err := r.budgets().Get(ctx, pdb.Name, &metav1.GetOptions{})
			if err != nil {
				return err
			}
			pdb = obj.(*policyv1.PodDisruptionBudget)
		}
		refresh = true
		updated, err := takeDisruption(pdb, podName, r.now(), dryRun)
		if err != nil || dryRun {
			return err
		}
		_, _, err = r.budgetStatus().Update(ctx, pdb.Name, rest.DefaultUpdatedObjectInfo(updated),
			rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsConflict(err) {
		return apierrors.NewTimeoutError(fmt.Sprintf("couldn't update PodDisruptionBudget %q due to conflicts", pdb.Name), 10)
	}
	return err
}

// markAndDelete sets the pod's DisruptionTarget condition (unless dry-run), as upstream, then
// deletes it with options.
func (r *evictionREST) markAndDelete(ctx context.Context, name string, options *metav1.DeleteOptions) error {
	if len(options.DryRun) == 0 {
		mark := func(_ context.Context, _, old runtime.Object) (runtime.Object, error) {
			pod := old.(*corev1.Pod).DeepCopy()
			if p := options.Preconditions; p != nil {
				if p.UID != nil && *p.UID != "" && *p.UID != pod.UID {
					return nil, apierrors.NewConflict(Kind.GroupResource(), name,
						fmt.Errorf("the UID in the precondition (%s) does not match the UID in record (%s). The object might have been deleted and then recreated", *p.UID, pod.UID))
				}
				if p.ResourceVersion != nil && *p.ResourceVersion != "" && *p.ResourceVersion != pod.ResourceVersion {
					return nil, apierrors.NewConflict(Kind.GroupResource(), name,
						fmt.Errorf("the ResourceVersion in the precondition (%s) does not match the ResourceVersion in record (%s). The object might have been modified", *p.ResourceVersion, pod.ResourceVersion))
				}
			}
			setPodCondition(&pod.Status, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
				Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting"})
			return pod, nil
		}
		updated, _, err := r.podStatus.Update(ctx, name, rest.DefaultUpdatedObjectInfo(nil, mark),
			rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		if !resourceVersionIsUnset(options) {
			// The condition moved the pod's resourceVersion on; the precondition follows it.
			rv, err := meta.NewAccessor().ResourceVersion(updated)
			if err != nil {
				return err
			}
			options = withResourceVersion(options, rv)
		}
	}
	_, _, err := r.pods.Delete(ctx, name, rest.ValidateAllObjectFunc, options)
	return err
}

// newEvictionREST builds pods/eviction on the pods' stores; the budgets' stores are the policy
// group's, reached once every provider ran.
func newEvictionREST(c *registry.Context, pods *registry.Storage) *evictionREST {
	budgets := c.StoreFunc(budgetsGR, "pods/eviction")
	stores := c.Stores
	return &evictionREST{
		pods:      pods.Store,
		podStatus: pods.Subresources["status"].(*registry.StatusREST).Store,
		budgets:   budgets,
		budgetStatus: func() rest.Updater {
			return stores[budgetsGR].Subresources["status"].(rest.Updater)
		},
		now: time.Now,
	}
}
