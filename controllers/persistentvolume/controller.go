package persistentvolume

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	volumehelpers "k8s.io/component-helpers/storage/volume"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/controllers"
)

// ControllerName names the binder, its events and its log, as upstream's.
const ControllerName = "persistentvolume-controller"

// claimRefIndex indexes volumes by the "namespace/name" of their claimRef.
const claimRefIndex = "skiff.persistentvolume.claimRef"

// Controller is the PV controller: it binds claims to volumes, asks provisioners for volumes,
// releases and reclaims volumes, and grows volumes of the local-path provisioner. Set it up with
// SetupWithManager; the protection controllers are separate (Protection).
type Controller struct {
	controllers.Base
	// Resync is how often pending claims are synced again (15 s, upstream's
	// --pvclaimbinder-sync-period).
	Resync time.Duration
}

// SetupWithManager registers the claim and volume sides with mgr.
func (c *Controller) SetupWithManager(mgr ctrl.Manager) error {
	opts := c.Complete(mgr, ControllerName)
	if c.Resync <= 0 {
		c.Resync = 15 * time.Second
	}
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &corev1.PersistentVolume{}, claimRefIndex, func(o client.Object) []string {
		if ref := o.(*corev1.PersistentVolume).Spec.ClaimRef; ref != nil {
			return []string{ref.Namespace + "/" + ref.Name}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("indexing volumes by claim: %w", err)
	}
	claims := &claimReconciler{c}
	err = ctrl.NewControllerManagedBy(mgr).Named("persistentvolumeclaim-binder").For(&corev1.PersistentVolumeClaim{}).
		Watches(&corev1.PersistentVolume{}, handler.EnqueueRequestsFromMapFunc(claims.claimsOfVolume)).
		Watches(&storagev1.StorageClass{}, handler.EnqueueRequestsFromMapFunc(claims.unboundClaims)).
		WithOptions(opts).Complete(claims)
	if err != nil {
		return err
	}
	volumes := &volumeReconciler{c}
	return ctrl.NewControllerManagedBy(mgr).Named("persistentvolume-binder").For(&corev1.PersistentVolume{}).
		Watches(&corev1.PersistentVolumeClaim{}, handler.EnqueueRequestsFromMapFunc(volumes.volumesOfClaim)).
		WithOptions(opts).Complete(volumes)
}

type claimReconciler struct{ *Controller }

type volumeReconciler struct{ *Controller }

// claimsOfVolume queues the claim a volume names, or every unbound claim for a free volume.
func (r *claimReconciler) claimsOfVolume(ctx context.Context, o client.Object) []reconcile.Request {
	pv, ok := o.(*corev1.PersistentVolume)
	if !ok {
		return nil
	}
	if ref := pv.Spec.ClaimRef; ref != nil {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}}}
	}
	return r.unboundClaims(ctx, o)
}

// unboundClaims queues every claim whose binding is not complete.
func (r *claimReconciler) unboundClaims(ctx context.Context, _ client.Object) []reconcile.Request {
	var list corev1.PersistentVolumeClaimList
	if err := r.Client.List(ctx, &list); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if c := &list.Items[i]; !metav1.HasAnnotation(c.ObjectMeta, helper.AnnBindCompleted) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(c)})
		}
	}
	return out
}

// volumesOfClaim queues the volume a claim names and the volumes whose claimRef names it.
func (r *volumeReconciler) volumesOfClaim(ctx context.Context, o client.Object) []reconcile.Request {
	claim, ok := o.(*corev1.PersistentVolumeClaim)
	if !ok {
		return nil
	}
	var out []reconcile.Request
	if claim.Spec.VolumeName != "" {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: claim.Spec.VolumeName}})
	}
	var list corev1.PersistentVolumeList
	if err := r.Client.List(ctx, &list, client.MatchingFields{claimRefIndex: claim.Namespace + "/" + claim.Name}); err == nil {
		for i := range list.Items {
			if list.Items[i].Name != claim.Spec.VolumeName {
				out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: list.Items[i].Name}})
			}
		}
	}
	return out
}

// state reads what planClaim needs from the cache.
func (c *Controller) state(ctx context.Context, claim *corev1.PersistentVolumeClaim) (*state, error) {
	var volumes corev1.PersistentVolumeList
	if err := c.Client.List(ctx, &volumes); err != nil {
		return nil, err
	}
	var classes storagev1.StorageClassList
	if err := c.Client.List(ctx, &classes); err != nil {
		return nil, err
	}
	s := &state{}
	byName := map[string]*corev1.PersistentVolume{}
	for i := range volumes.Items {
		v := &volumes.Items[i]
		s.Volumes = append(s.Volumes, v)
		byName[v.Name] = v
	}
	classByName := map[string]*storagev1.StorageClass{}
	all := make([]*storagev1.StorageClass, 0, len(classes.Items))
	for i := range classes.Items {
		sc := &classes.Items[i]
		classByName[sc.Name] = sc
		all = append(all, sc)
	}
	s.DefaultClass = helper.DefaultStorageClass(all)
	s.Volume = func(name string) *corev1.PersistentVolume { return byName[name] }
	s.Class = func(name string) *storagev1.StorageClass { return classByName[name] }
	if delayBinding(claim, s) && !volumehelpers.IsDelayBindingProvisioning(claim) {
		pods, err := c.unscheduledPodsUsing(ctx, claim)
		if err != nil {
			return nil, err
		}
		s.UnscheduledPods = pods
	}
	return s, nil
}

// unscheduledPodsUsing names the pods waiting for a node that use claim, as upstream's
// findNonScheduledPodsByPVC.
func (c *Controller) unscheduledPodsUsing(ctx context.Context, claim *corev1.PersistentVolumeClaim) ([]string, error) {
	var pods corev1.PodList
	if err := c.Client.List(ctx, &pods, client.InNamespace(claim.Namespace)); err != nil {
		return nil, err
	}
	var out []string
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Spec.NodeName != "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, name := range helper.PodClaimNames(p) {
			if name == claim.Name {
				out = append(out, p.Name)
				break
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// Reconcile syncs one claim.
func (r *claimReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	claim := &corev1.PersistentVolumeClaim{}
	if err := r.Client.Get(ctx, req.NamespacedName, claim); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s, err := r.state(ctx, claim)
	if err != nil {
		return ctrl.Result{}, err
	}
	plan := planClaim(claim, s)
	claim, err = r.apply(ctx, claim, plan)
	if err != nil {
		return ctrl.Result{}, err
	}
	if plan.Bind != nil {
		return ctrl.Result{}, r.expand(ctx, claim, s.Volume(plan.Bind.Name))
	}
	if plan.Phase == corev1.ClaimPending {
		return ctrl.Result{RequeueAfter: r.Resync}, nil
	}
	return ctrl.Result{}, nil
}

// apply carries out a claim plan and returns the claim as last written.
func (r *claimReconciler) apply(ctx context.Context, claim *corev1.PersistentVolumeClaim, p claimPlan) (*corev1.PersistentVolumeClaim, error) {
	if p.Event != nil {
		r.Recorder.Event(claim, p.Event.Type, p.Event.Reason, p.Event.Message)
	}
	if p.Err != nil {
		return claim, p.Err
	}
	switch {
	case p.Bind != nil:
		return r.bind(ctx, p.Bind, claim)
	case p.AssignClass != "":
		c := claim.DeepCopy()
		c.Spec.StorageClassName = &p.AssignClass
		return c, r.Client.Update(ctx, c)
	case p.Provisioner != "" && (claim.Annotations[helper.AnnStorageProvisioner] != p.Provisioner ||
		claim.Annotations[helper.AnnBetaStorageProvisioner] != p.Provisioner || p.SelectNode):
		c := claim.DeepCopy()
		metav1.SetMetaDataAnnotation(&c.ObjectMeta, helper.AnnStorageProvisioner, p.Provisioner)
		metav1.SetMetaDataAnnotation(&c.ObjectMeta, helper.AnnBetaStorageProvisioner, p.Provisioner)
		if p.SelectNode {
			node, err := r.pickNode(ctx)
			if err != nil {
				return claim, err
			}
			if node == "" {
				r.Recorder.Event(claim, corev1.EventTypeWarning, reasonProvisioningFailed, "no ready node to provision a local volume on")
			} else {
				metav1.SetMetaDataAnnotation(&c.ObjectMeta, helper.AnnSelectedNode, node)
			}
		}
		if err := r.Client.Update(ctx, c); err != nil {
			return claim, err
		}
		claim = c
	}
	if p.Phase != "" {
		changed := claim.Status.Phase != p.Phase
		if err := r.setClaimStatus(ctx, claim, p.Phase, nil); err != nil {
			return claim, err
		}
		if changed && p.PhaseEvent != nil {
			r.Recorder.Event(claim, p.PhaseEvent.Type, p.PhaseEvent.Reason, p.PhaseEvent.Message)
		}
	}
	return claim, nil
}

// pickNode chooses the node of an Immediate local-path claim: a Ready, schedulable node with the
// fewest local-path volumes, then by name.
func (r *claimReconciler) pickNode(ctx context.Context) (string, error) {
	var nodes corev1.NodeList
	if err := r.Client.List(ctx, &nodes); err != nil {
		return "", err
	}
	var volumes corev1.PersistentVolumeList
	if err := r.Client.List(ctx, &volumes); err != nil {
		return "", err
	}
	count := map[string]int{}
	for i := range volumes.Items {
		v := &volumes.Items[i]
		if v.Annotations[helper.AnnDynamicallyProvisioned] == helper.LocalPathProvisioner {
			for _, n := range nodesOfAffinity(v) {
				count[n]++
			}
		}
	}
	best := ""
	for i := range nodes.Items {
		n := &nodes.Items[i]
		if n.Spec.Unschedulable || !helper.NodeReady(n) {
			continue
		}
		if best == "" || count[n.Name] < count[best] || count[n.Name] == count[best] && n.Name < best {
			best = n.Name
		}
	}
	return best, nil
}

// nodesOfAffinity lists the hostnames a volume's required node affinity names.
func nodesOfAffinity(v *corev1.PersistentVolume) []string {
	if v.Spec.NodeAffinity == nil || v.Spec.NodeAffinity.Required == nil {
		return nil
	}
	var out []string
	for _, t := range v.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range t.MatchExpressions {
			if e.Key == corev1.LabelHostname && e.Operator == corev1.NodeSelectorOpIn {
				out = append(out, e.Values...)
			}
		}
	}
	return out
}

// bind is upstream's bind: the volume's claimRef, the volume's phase, the claim's volumeName and
// annotations, the claim's status; each step is skipped when already done, so a failed sync
// resumes. It returns the claim as last written.
func (c *Controller) bind(ctx context.Context, volume *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) (*corev1.PersistentVolumeClaim, error) {
	claim = claim.DeepCopy()
	v, dirty, err := volumehelpers.GetBindVolumeToClaim(volume, claim)
	if err != nil {
		return claim, err
	}
	if dirty {
		if err := c.Client.Update(ctx, v); err != nil {
			return claim, fmt.Errorf("binding volume %s to claim %s/%s: %w", volume.Name, claim.Namespace, claim.Name, err)
		}
	}
	if v.Status.Phase != corev1.VolumeBound {
		v.Status.Phase, v.Status.Message = corev1.VolumeBound, ""
		if err := c.Client.Status().Update(ctx, v); err != nil {
			return claim, fmt.Errorf("updating volume %s phase: %w", v.Name, err)
		}
	}
	dirty = false
	if claim.Spec.VolumeName != v.Name {
		claim.Spec.VolumeName = v.Name
		if !metav1.HasAnnotation(claim.ObjectMeta, helper.AnnBoundByController) {
			metav1.SetMetaDataAnnotation(&claim.ObjectMeta, helper.AnnBoundByController, "yes")
		}
		dirty = true
	}
	if !metav1.HasAnnotation(claim.ObjectMeta, helper.AnnBindCompleted) {
		metav1.SetMetaDataAnnotation(&claim.ObjectMeta, helper.AnnBindCompleted, "yes")
		dirty = true
	}
	if dirty {
		if err := c.Client.Update(ctx, claim); err != nil {
			return claim, fmt.Errorf("binding claim %s/%s to volume %s: %w", claim.Namespace, claim.Name, v.Name, err)
		}
	}
	return claim, c.setClaimStatus(ctx, claim, corev1.ClaimBound, v)
}

// setClaimStatus is upstream's updateClaimStatus: the phase, and the access modes and capacity
// of the bound volume (cleared without one).
func (c *Controller) setClaimStatus(ctx context.Context, claim *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase, volume *corev1.PersistentVolume) error {
	clone := claim.DeepCopy()
	if volume == nil {
		clone.Status.AccessModes, clone.Status.Capacity, clone.Status.CurrentVolumeAttributesClassName = nil, nil, nil
	} else {
		clone.Status.AccessModes = volume.Spec.AccessModes
		if claim.Status.Phase != phase {
			clone.Status.Capacity = volume.Spec.Capacity
			if claim.Status.Phase == corev1.ClaimPending {
				clone.Status.CurrentVolumeAttributesClassName = volume.Spec.VolumeAttributesClassName
			}
		}
	}
	clone.Status.Phase = phase
	if reflect.DeepEqual(clone.Status, claim.Status) {
		return nil
	}
	if err := c.Client.Status().Update(ctx, clone); err != nil {
		return fmt.Errorf("updating claim %s/%s status: %w", claim.Namespace, claim.Name, err)
	}
	claim.Status, claim.ResourceVersion = clone.Status, clone.ResourceVersion
	return nil
}

// Reconcile syncs one volume.
func (r *volumeReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	volume := &corev1.PersistentVolume{}
	if err := r.Client.Get(ctx, req.NamespacedName, volume); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	claim, err := r.claimOf(ctx, volume)
	if err != nil {
		return ctrl.Result{}, err
	}
	p := planVolume(volume, claim)
	if p.Event != nil {
		r.Recorder.Event(volume, p.Event.Type, p.Event.Reason, p.Event.Message)
	}
	if p.ClaimEvent != nil && claim != nil {
		r.Recorder.Event(claim, p.ClaimEvent.Type, p.ClaimEvent.Reason, p.ClaimEvent.Message)
	}
	if p.Unbind {
		v := volume.DeepCopy()
		if metav1.HasAnnotation(v.ObjectMeta, helper.AnnBoundByController) {
			v.Spec.ClaimRef = nil
			delete(v.Annotations, helper.AnnBoundByController)
		} else {
			v.Spec.ClaimRef.UID = ""
		}
		if err := r.Client.Update(ctx, v); err != nil {
			return ctrl.Result{}, fmt.Errorf("unbinding volume %s: %w", v.Name, err)
		}
		volume, p.Phase = v, corev1.VolumeAvailable
	}
	if p.Phase != "" && (volume.Status.Phase != p.Phase || volume.Status.Message != p.Message) {
		changed := volume.Status.Phase != p.Phase
		v := volume.DeepCopy()
		v.Status.Phase, v.Status.Message = p.Phase, p.Message
		if err := r.Client.Status().Update(ctx, v); err != nil {
			return ctrl.Result{}, fmt.Errorf("updating volume %s phase: %w", v.Name, err)
		}
		if changed && p.PhaseEvent != nil {
			r.Recorder.Event(v, p.PhaseEvent.Type, p.PhaseEvent.Reason, p.PhaseEvent.Message)
		}
		klog.FromContext(ctx).V(2).Info("Volume phase changed", "volume", v.Name, "phase", p.Phase)
	}
	return ctrl.Result{}, nil
}

// claimOf returns the claim the volume's claimRef names, nil when it is gone or was replaced by
// another of the same name; a claim the cache does not show yet is read from the API server,
// as upstream does before releasing a volume.
func (r *volumeReconciler) claimOf(ctx context.Context, volume *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, error) {
	ref := volume.Spec.ClaimRef
	if ref == nil || ref.UID == "" {
		return nil, nil
	}
	key := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
	claim := &corev1.PersistentVolumeClaim{}
	err := r.Client.Get(ctx, key, claim)
	switch {
	case apierrors.IsNotFound(err):
		if volume.Status.Phase == corev1.VolumeReleased || volume.Status.Phase == corev1.VolumeFailed {
			return nil, nil
		}
	case err != nil:
		return nil, err
	case claim.UID == ref.UID:
		return claim, nil
	}
	err = r.APIReader.Get(ctx, key, claim)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	case claim.UID != ref.UID:
		return nil, nil
	}
	return claim, nil
}
