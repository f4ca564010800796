package admission

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
)

// LimitRangerName is upstream's plugin name.
const LimitRangerName = "LimitRanger"

// limitRangerAnnotation records which defaults the plugin set on a pod.
const limitRangerAnnotation = "kubernetes.io/limit-ranger"

// LimitRanger applies a namespace's LimitRanges to new pods, as kube-apiserver's plugin: it
// fills in missing container requests and limits from the Container items' defaults (Admit),
// then refuses pods whose containers or totals break a min, max or max limit/request ratio
// (Validate) with upstream's messages and 403 Forbidden.
type LimitRanger struct {
	*admission.Handler
	lister corelisters.LimitRangeLister
	client kubernetes.Interface

	// live holds recent live lookups for namespaces the informer shows none in, so a LimitRange
	// created a moment ago applies before the informer sees it, without a List per pod.
	mu      sync.Mutex
	live    map[string]liveLimitRanges
	liveTTL time.Duration
	now     func() time.Time
}

type liveLimitRanges struct {
	expiry time.Time
	items  []*corev1.LimitRange
}

var (
	_ admission.MutationInterface   = &LimitRanger{}
	_ admission.ValidationInterface = &LimitRanger{}
)

// NewLimitRanger returns the plugin reading LimitRanges from the factory's informer (requested
// here, so the factory must be started afterwards) with client for live lookups.
func NewLimitRanger(client kubernetes.Interface, factory informers.SharedInformerFactory) *LimitRanger {
	lr := factory.Core().V1().LimitRanges()
	l := &LimitRanger{
		Handler: admission.NewHandler(admission.Create, admission.Update),
		lister:  lr.Lister(), client: client,
		live: map[string]liveLimitRanges{}, liveTTL: 30 * time.Second, now: time.Now,
	}
	l.SetReadyFunc(lr.Informer().HasSynced)
	return l
}

// Admit sets default requests and limits.
func (l *LimitRanger) Admit(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	return l.run(ctx, a, mutatePod)
}

// Validate enforces min, max and ratio constraints.
func (l *LimitRanger) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	return l.run(ctx, a, validatePod)
}

func (l *LimitRanger) run(ctx context.Context, a admission.Attributes, fn func(*corev1.LimitRange, *corev1.Pod) error) error {
	if a.GetKind().GroupKind() != corev1.SchemeGroupVersion.WithKind("Pod").GroupKind() {
		return nil
	}
	// Containers' resources are immutable but through pods/resize, so only creates (and resizes)
	// are checked, as upstream.
	switch {
	case a.GetSubresource() == "resize" && a.GetOperation() == admission.Update:
	case a.GetSubresource() != "":
		return nil
	case a.GetOperation() != admission.Create:
		return nil
	}
	if old := a.GetOldObject(); old != nil {
		if m, err := meta.Accessor(old); err == nil && m.GetDeletionTimestamp() != nil {
			return nil
		}
	}
	pod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return nil
	}
	items, err := l.limitRanges(ctx, a.GetNamespace())
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("unable to %s %v at this time because there was an error enforcing limit ranges", a.GetOperation(), a.GetResource()))
	}
	for _, lr := range items {
		if err := fn(lr, pod); err != nil {
			return admission.NewForbidden(a, err)
		}
	}
	return nil
}

func (l *LimitRanger) limitRanges(ctx context.Context, ns string) ([]*corev1.LimitRange, error) {
	items, err := l.lister.LimitRanges(ns).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	if len(items) > 0 {
		return items, nil
	}
	l.mu.Lock()
	entry, ok := l.live[ns]
	l.mu.Unlock()
	if ok && entry.expiry.After(l.now()) {
		return entry.items, nil
	}
	list, err := l.client.CoreV1().LimitRanges(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing limit ranges of %s: %w", ns, err)
	}
	entry = liveLimitRanges{expiry: l.now().Add(l.liveTTL)}
	for i := range list.Items {
		entry.items = append(entry.items, &list.Items[i])
	}
	l.mu.Lock()
	if len(l.live) > 10000 {
		l.live = map[string]liveLimitRanges{}
	}
	l.live[ns] = entry
	l.mu.Unlock()
	return entry.items, nil
}

// defaultRequirements are the Container items' default limits and requests.
func defaultRequirements(lr *corev1.LimitRange) corev1.ResourceRequirements {
	req := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	for _, item := range lr.Spec.Limits {
		if item.Type != corev1.LimitTypeContainer {
			continue
		}
		for k, v := range item.DefaultRequest {
			req.Requests[k] = v.DeepCopy()
		}
		for k, v := range item.Default {
			req.Limits[k] = v.DeepCopy()
		}
	}
	return req
}

func mergeContainerDefaults(c *corev1.Container, defaults *corev1.ResourceRequirements, kind string, notes []string) []string {
	var setRequests, setLimits []string
	if c.Resources.Limits == nil {
		c.Resources.Limits = corev1.ResourceList{}
	}
	if c.Resources.Requests == nil {
		c.Resources.Requests = corev1.ResourceList{}
	}
	for k, v := range defaults.Limits {
		if _, found := c.Resources.Limits[k]; !found {
			c.Resources.Limits[k] = v.DeepCopy()
			setLimits = append(setLimits, string(k))
		}
	}
	for k, v := range defaults.Requests {
		if _, found := c.Resources.Requests[k]; !found {
			c.Resources.Requests[k] = v.DeepCopy()
			setRequests = append(setRequests, string(k))
		}
	}
	if len(setRequests) > 0 {
		sort.Strings(setRequests)
		notes = append(notes, fmt.Sprintf("%s request for %s %s", strings.Join(setRequests, ", "), kind, c.Name))
	}
	if len(setLimits) > 0 {
		sort.Strings(setLimits)
		notes = append(notes, fmt.Sprintf("%s limit for %s %s", strings.Join(setLimits, ", "), kind, c.Name))
	}
	return notes
}

// mutatePod merges the defaults into every container and annotates the pod with what was set.
func mutatePod(lr *corev1.LimitRange, pod *corev1.Pod) error {
	defaults := defaultRequirements(lr)
	var notes []string
	for i := range pod.Spec.Containers {
		notes = mergeContainerDefaults(&pod.Spec.Containers[i], &defaults, "container", notes)
	}
	for i := range pod.Spec.InitContainers {
		notes = mergeContainerDefaults(&pod.Spec.InitContainers[i], &defaults, "init container", notes)
	}
	if len(notes) > 0 {
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[limitRangerAnnotation] = "LimitRanger plugin set: " + strings.Join(notes, "; ")
	}
	return nil
}

// comparable returns request, limit and enforced at milli precision when none overflows.
func comparable(req, lim, enforced resource.Quantity) (int64, int64, int64) {
	r, l, e := req.Value(), lim.Value(), enforced.Value()
	if r <= resource.MaxMilliValue && l <= resource.MaxMilliValue && e <= resource.MaxMilliValue {
		return req.MilliValue(), lim.MilliValue(), enforced.MilliValue()
	}
	return r, l, e
}

func minConstraint(limitType corev1.LimitType, name corev1.ResourceName, enforced resource.Quantity, request, limit corev1.ResourceList) error {
	req, reqOK := request[name]
	lim, limOK := limit[name]
	r, l, e := comparable(req, lim, enforced)
	if !reqOK {
		return fmt.Errorf("minimum %s usage per %s is %s.  No request is specified", name, limitType, enforced.String())
	}
	if r < e {
		return fmt.Errorf("minimum %s usage per %s is %s, but request is %s", name, limitType, enforced.String(), req.String())
	}
	if limOK && l < e {
		return fmt.Errorf("minimum %s usage per %s is %s, but limit is %s", name, limitType, enforced.String(), lim.String())
	}
	return nil
}

func maxConstraint(limitType corev1.LimitType, name corev1.ResourceName, enforced resource.Quantity, request, limit corev1.ResourceList) error {
	req, reqOK := request[name]
	lim, limOK := limit[name]
	r, l, e := comparable(req, lim, enforced)
	if !limOK {
		return fmt.Errorf("maximum %s usage per %s is %s.  No limit is specified", name, limitType, enforced.String())
	}
	if l > e {
		return fmt.Errorf("maximum %s usage per %s is %s, but limit is %s", name, limitType, enforced.String(), lim.String())
	}
	if reqOK && r > e {
		return fmt.Errorf("maximum %s usage per %s is %s, but request is %s", name, limitType, enforced.String(), req.String())
	}
	return nil
}

func ratioConstraint(limitType corev1.LimitType, name corev1.ResourceName, enforced resource.Quantity, request, limit corev1.ResourceList) error {
	req, reqOK := request[name]
	lim, limOK := limit[name]
	r, l, _ := comparable(req, lim, enforced)
	if !reqOK || r == 0 {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no request is specified or request is 0", name, limitType, enforced.String())
	}
	if !limOK || l == 0 {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no limit is specified or limit is 0", name, limitType, enforced.String())
	}
	observed := float64(l) / float64(r)
	shown := observed
	maxRatio := float64(enforced.Value())
	if enforced.Value() <= resource.MaxMilliValue {
		observed *= 1000
		maxRatio = float64(enforced.MilliValue())
	}
	if observed > maxRatio {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but provided ratio is %f", name, limitType, enforced.String(), shown)
	}
	return nil
}

func checkItem(item *corev1.LimitRangeItem, request, limit corev1.ResourceList, errs []error) []error {
	for _, k := range sortedNames(item.Min) {
		if err := minConstraint(item.Type, k, item.Min[k], request, limit); err != nil {
			errs = append(errs, err)
		}
	}
	for _, k := range sortedNames(item.Max) {
		if err := maxConstraint(item.Type, k, item.Max[k], request, limit); err != nil {
			errs = append(errs, err)
		}
	}
	for _, k := range sortedNames(item.MaxLimitRequestRatio) {
		if err := ratioConstraint(item.Type, k, item.MaxLimitRequestRatio[k], request, limit); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func sortedNames(list corev1.ResourceList) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(list))
	for k := range list {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// validatePod checks each container against Container items and the pod's totals against Pod
// items.
func validatePod(lr *corev1.LimitRange, pod *corev1.Pod) error {
	var errs []error
	for i := range lr.Spec.Limits {
		item := &lr.Spec.Limits[i]
		switch item.Type {
		case corev1.LimitTypeContainer:
			for j := range pod.Spec.Containers {
				c := &pod.Spec.Containers[j]
				errs = checkItem(item, c.Resources.Requests, c.Resources.Limits, errs)
			}
			for j := range pod.Spec.InitContainers {
				c := &pod.Spec.InitContainers[j]
				errs = checkItem(item, c.Resources.Requests, c.Resources.Limits, errs)
			}
		case corev1.LimitTypePod:
			opts := resourcehelper.PodResourcesOptions{ExcludeOverhead: true}
			errs = checkItem(item, resourcehelper.PodRequests(pod, opts), resourcehelper.PodLimits(pod, opts), errs)
		}
	}
	return utilerrors.NewAggregate(errs)
}
