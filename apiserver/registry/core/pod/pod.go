package pod

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/apis/validation"
	"github.com/skiff-dev/skiff/apiserver/registry"
	"github.com/skiff-dev/skiff/apiserver/registry/core/node"
)

// Kind is core/v1 pods: status set to Pending on create, graceful deletion, and the field
// selectors that schedulers and node agents use.
var Kind = &registry.Kind{GroupVersion: corev1.SchemeGroupVersion, Resource: "pods", Singular: "pod", Namespaced: true,
	ShortNames: []string{"po"}, Categories: []string{"all"}, Status: true, Generation: true,
	New: func() runtime.Object { return &corev1.Pod{} }, NewList: func() runtime.Object { return &corev1.PodList{} },
	Fields: podFields, IndexField: "spec.nodeName", IndexValue: func(obj runtime.Object) string { return obj.(*corev1.Pod).Spec.NodeName },
	PrepareForCreate: func(obj runtime.Object) {
		pod := obj.(*corev1.Pod)
		pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: helper.QOSClass(&pod.Spec)}
	},
	PrepareForStatusUpdate: func(obj, old runtime.Object) {
		// The status endpoint cannot change deletion or ownership metadata.
		n, o := obj.(*corev1.Pod), old.(*corev1.Pod)
		n.DeletionTimestamp, n.DeletionGracePeriodSeconds = o.DeletionTimestamp, o.DeletionGracePeriodSeconds
		n.OwnerReferences = o.OwnerReferences
		preserveObservedGeneration(&n.Status, &o.Status)
	},
	GracefulDelete: podGracefulDelete,
}

// NewREST builds the pods storage: the store, pods/status, pods/resize, pods/binding (and the
// legacy bindings resource), pods/eviction (which needs the policy group's PodDisruptionBudgets),
// pods/ephemeralcontainers, and
// the streams pods/log, exec, attach and portforward, which reach node
// agents through nodes.
func NewREST(c *registry.Context, nodes *node.Connector) (map[string]rest.Storage, error) {
	if err := addStreamOptionConversions(c.Scheme); err != nil {
		return nil, err
	}
	if err := addEvictionV1beta1(c.Scheme); err != nil {
		return nil, err
	}
	st, err := c.NewStorage(Kind)
	if err != nil {
		return nil, err
	}
	st.Subresources["binding"] = &bindingREST{store: st.Store}
	st.Subresources["eviction"] = newEvictionREST(c, st)
	st.Subresources["ephemeralcontainers"] = newEphemeralContainersREST(c, st)
	st.Subresources["resize"] = newResizeREST(st.Store, registry.NewStrategy(c.Scheme, Kind, false))
	if err := addPodStreams(c, st, nodes); err != nil {
		return nil, err
	}
	m := st.Paths(Kind)
	m["bindings"] = st.Subresources["binding"]
	return m, nil
}

// preserveObservedGeneration is upstream's preserveOldObservedGeneration: a status write that
// clears status.observedGeneration or a condition's (a client unaware of the fields) keeps the
// stored values; conditions are matched by type, in order, as validation allows repeats.
func preserveObservedGeneration(n, o *corev1.PodStatus) {
	if n.ObservedGeneration == 0 {
		n.ObservedGeneration = o.ObservedGeneration
	}
	old := map[corev1.PodConditionType][]int64{}
	for _, c := range o.Conditions {
		old[c.Type] = append(old[c.Type], c.ObservedGeneration)
	}
	for i, c := range n.Conditions {
		var gen int64
		if gens := old[c.Type]; len(gens) > 0 {
			gen, old[c.Type] = gens[0], gens[1:]
		}
		if c.ObservedGeneration == 0 {
			n.Conditions[i].ObservedGeneration = gen
		}
	}
}

func podFields(obj runtime.Object) fields.Set {
	pod := obj.(*corev1.Pod)
	ips := make([]string, 0, len(pod.Status.PodIPs))
	for _, ip := range pod.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	return fields.Set{
		"spec.nodeName":            pod.Spec.NodeName,
		"spec.restartPolicy":       string(pod.Spec.RestartPolicy),
		"spec.schedulerName":       pod.Spec.SchedulerName,
		"spec.serviceAccountName":  pod.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(pod.Spec.HostNetwork),
		"status.phase":             string(pod.Status.Phase),
		"status.podIP":             pod.Status.PodIP,
		"status.podIPs":            strings.Join(ips, ","),
		"status.nominatedNodeName": pod.Status.NominatedNodeName,
	}
}

// podGracefulDelete follows upstream: the grace period is the request's or the pod's; pods not
// yet scheduled or already terminated go at once.
func podGracefulDelete(obj runtime.Object, options *metav1.DeleteOptions) bool {
	if options == nil {
		return false
	}
	pod := obj.(*corev1.Pod)
	var period int64
	switch {
	case options.GracePeriodSeconds != nil:
		period = *options.GracePeriodSeconds
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		period = *pod.Spec.TerminationGracePeriodSeconds
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded {
		period = 0
	}
	if period < 0 {
		period = 1
	}
	options.GracePeriodSeconds = &period
	return true
}

// bindingREST serves pods/binding (and the legacy bindings resource): it sets spec.nodeName once.
type bindingREST struct {
	store *genericregistry.Store
}

var (
	_ rest.Creater = &bindingREST{}
	_ rest.Scoper  = &bindingREST{}
)

func (r *bindingREST) New() runtime.Object     { return &corev1.Binding{} }
func (r *bindingREST) Destroy()                {}
func (r *bindingREST) NamespaceScoped() bool   { return true }
func (r *bindingREST) GetSingularName() string { return "binding" }

func (r *bindingREST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	binding, ok := obj.(*corev1.Binding)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a Binding object: %T", obj))
	}
	if ns, ok := genericapirequest.NamespaceFrom(ctx); ok && binding.Namespace != "" && binding.Namespace != ns {
		return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	if errs := validation.ValidateCreate(binding); len(errs) > 0 {
		return nil, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Binding").GroupKind(), binding.Name, errs)
	}
	if createValidation != nil {
		if err := createValidation(ctx, binding.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	if dryRun(options) {
		return &metav1.Status{Status: metav1.StatusSuccess, Code: 201}, nil
	}
	if err := r.assign(ctx, binding); err != nil {
		return nil, err
	}
	return &metav1.Status{Status: metav1.StatusSuccess, Code: 201}, nil
}

func dryRun(options *metav1.CreateOptions) bool { return options != nil && len(options.DryRun) > 0 }

// assign sets the pod's node, its annotations from the binding and PodScheduled=True.
func (r *bindingREST) assign(ctx context.Context, binding *corev1.Binding) error {
	key, err := r.store.KeyFunc(ctx, binding.Name)
	if err != nil {
		return err
	}
	var precond *storage.Preconditions
	if binding.UID != "" {
		precond = &storage.Preconditions{UID: &binding.UID}
	}
	node := binding.Target.Name
	err = r.store.Storage.GuaranteedUpdate(ctx, key, &corev1.Pod{}, false, precond,
		storage.SimpleUpdate(func(obj runtime.Object) (runtime.Object, error) {
			pod := obj.(*corev1.Pod)
			if pod.DeletionTimestamp != nil {
				return nil, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", pod.Name)
			}
			if pod.Spec.NodeName != "" {
				return nil, fmt.Errorf("pod %v is already assigned to node %q", pod.Name, pod.Spec.NodeName)
			}
			pod.Spec.NodeName = node
			if pod.Annotations == nil && len(binding.Annotations) > 0 {
				pod.Annotations = map[string]string{}
			}
			for k, v := range binding.Annotations {
				pod.Annotations[k] = v
			}
			setPodCondition(&pod.Status, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue})
			return pod, nil
		}), false, nil)
	switch {
	case err == nil:
		return nil
	case storage.IsNotFound(err):
		return apierrors.NewNotFound(Kind.GroupResource(), binding.Name)
	}
	if _, isStatus := err.(apierrors.APIStatus); isStatus {
		return err
	}
	// Upstream names the subresource in the conflict: `on pods/binding "name"`.
	return apierrors.NewConflict(schema.GroupResource{Resource: "pods/binding"}, binding.Name, err)
}

func setPodCondition(status *corev1.PodStatus, c corev1.PodCondition) {
	now := metav1.Now()
	c.LastTransitionTime = now
	for i := range status.Conditions {
		if status.Conditions[i].Type == c.Type {
			if status.Conditions[i].Status == c.Status {
				c.LastTransitionTime = status.Conditions[i].LastTransitionTime
			}
			status.Conditions[i] = c
			return
		}
	}
	status.Conditions = append(status.Conditions, c)
}
