package scheduler

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/component-helpers/storage/ephemeral"
	volumehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/skiff-dev/skiff/apis/helper"
)

// Upstream's VolumeBinding reasons, as they appear in the Unschedulable message.
const (
	ReasonVolumeNodeConflict = "node(s) didn't match PersistentVolume's node affinity"
	ReasonVolumeBindConflict = "node(s) didn't find available persistent volumes to bind"
	ReasonVolumePVNotExist   = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
	// ReasonUnboundImmediate is the PreFilter's message for a claim the PV controller has not
	// bound yet although its class binds immediately.
	ReasonUnboundImmediate = "pod has unbound immediate PersistentVolumeClaims"
)

// storageCache holds the claims, volumes and classes the VolumeBinding plugin reads; the
// scheduler cache's lock guards it.
type storageCache struct {
	claims  map[string]*corev1.PersistentVolumeClaim // by namespace/name
	volumes map[string]*corev1.PersistentVolume
	classes map[string]*storagev1.StorageClass
}

func newStorageCache() storageCache {
	return storageCache{claims: map[string]*corev1.PersistentVolumeClaim{}, volumes: map[string]*corev1.PersistentVolume{},
		classes: map[string]*storagev1.StorageClass{}}
}

func claimKey(ns, name string) string { return ns + "/" + name }

// volumeState is the VolumeBinding PreFilter's result for one pod: its claims sorted into bound
// ones and unbound WaitForFirstConsumer ones. A nil state (no claims) passes every node.
type volumeState struct {
	bound   []*corev1.PersistentVolumeClaim
	delayed []*corev1.PersistentVolumeClaim
	// preFilter is the message when the pod cannot be scheduled anywhere yet.
	preFilter string
	sc        *storageCache
	// volumes are all volumes, listed once per pod for the delayed claims' matching.
	volumes []*corev1.PersistentVolume
}

// volumePreFilter is upstream's VolumeBinding PreFilter (podHasPVCs, GetPodVolumeClaims).
func (sc *storageCache) volumePreFilter(pod *corev1.Pod) *volumeState {
	var vs *volumeState
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		var name string
		switch {
		case vol.PersistentVolumeClaim != nil:
			name = vol.PersistentVolumeClaim.ClaimName
		case vol.Ephemeral != nil:
			name = ephemeral.VolumeClaimName(pod, vol)
		default:
			continue
		}
		if vs == nil {
			vs = &volumeState{sc: sc}
		}
		claim := sc.claims[claimKey(pod.Namespace, name)]
		switch {
		case claim == nil && vol.Ephemeral != nil:
			vs.preFilter = fmt.Sprintf("waiting for ephemeral volume controller to create the persistentvolumeclaim %q", name)
		case claim == nil:
			vs.preFilter = fmt.Sprintf("persistentvolumeclaim %q not found", name)
		case claim.Status.Phase == corev1.ClaimLost:
			vs.preFilter = fmt.Sprintf("persistentvolumeclaim %q bound to non-existent persistentvolume %q", claim.Name, claim.Spec.VolumeName)
		case claim.DeletionTimestamp != nil:
			vs.preFilter = fmt.Sprintf("persistentvolumeclaim %q is being deleted", claim.Name)
		case vol.Ephemeral != nil:
			if err := ephemeral.VolumeIsForPod(pod, claim); err != nil {
				vs.preFilter = err.Error()
			}
		}
		if vs.preFilter != "" {
			return vs
		}
		switch {
		case claim.Spec.VolumeName != "" && metav1.HasAnnotation(claim.ObjectMeta, helper.AnnBindCompleted):
			vs.bound = append(vs.bound, claim)
		case sc.delayBinding(claim) && claim.Spec.VolumeName == "":
			vs.delayed = append(vs.delayed, claim)
		default:
			vs.preFilter = ReasonUnboundImmediate
		}
	}
	if vs != nil && vs.preFilter == "" && len(vs.delayed) > 0 {
		vs.volumes = make([]*corev1.PersistentVolume, 0, len(sc.volumes))
		for _, pv := range sc.volumes {
			vs.volumes = append(vs.volumes, pv)
		}
	}
	return vs
}

func (sc *storageCache) delayBinding(claim *corev1.PersistentVolumeClaim) bool {
	return helper.BindsOnFirstConsumer(sc.classes[helper.PersistentVolumeClaimClass(claim)])
}

// volumeBindings is how a pod's unbound claims bind on one node: static volumes to bind and
// claims to provision there.
type volumeBindings struct {
	static    map[*corev1.PersistentVolumeClaim]*corev1.PersistentVolume
	provision []*corev1.PersistentVolumeClaim
}

// filter is upstream's FindPodVolumes on one node: bound claims' volumes must allow the node;
// each unbound claim needs a free matching volume there or a class that provisions there.
func (vs *volumeState) filter(node *corev1.Node) (uint32, *volumeBindings) {
	var fail uint32
	for _, claim := range vs.bound {
		pv := vs.sc.volumes[claim.Spec.VolumeName]
		if pv == nil {
			fail |= failPVNotExist
			continue
		}
		if volumehelpers.CheckNodeAffinity(pv, node.Labels) != nil {
			fail |= failVolumeNodeConflict
		}
	}
	if len(vs.delayed) == 0 {
		return fail, nil
	}
	b := &volumeBindings{}
	chosen := map[string]*corev1.PersistentVolume{}
	for _, claim := range vs.delayed {
		if pv, err := volumehelpers.FindMatchingVolume(claim, vs.volumes, node, chosen, true, true); err == nil && pv != nil {
			chosen[pv.Name] = pv
			if b.static == nil {
				b.static = map[*corev1.PersistentVolumeClaim]*corev1.PersistentVolume{}
			}
			b.static[claim] = pv
			continue
		}
		class := vs.sc.classes[helper.PersistentVolumeClaimClass(claim)]
		if class == nil || class.Provisioner == helper.NoProvisioner || !allowedTopology(class, node) {
			fail |= failVolumeBindConflict
			continue
		}
		b.provision = append(b.provision, claim)
	}
	return fail, b
}

// allowedTopology is upstream's check of a class's allowedTopologies against the node.
func allowedTopology(class *storagev1.StorageClass, node *corev1.Node) bool {
	if len(class.AllowedTopologies) == 0 {
		return true
	}
	terms := make([]corev1.NodeSelectorTerm, 0, len(class.AllowedTopologies))
	for _, t := range class.AllowedTopologies {
		var term corev1.NodeSelectorTerm
		for _, e := range t.MatchLabelExpressions {
			term.MatchExpressions = append(term.MatchExpressions, corev1.NodeSelectorRequirement{Key: e.Key, Operator: corev1.NodeSelectorOpIn, Values: e.Values})
		}
		terms = append(terms, term)
	}
	ok, _ := nodeaffinity.NewLazyErrorNodeSelector(&corev1.NodeSelector{NodeSelectorTerms: terms}).Match(node)
	return ok
}

// assumeVolumes records the bindings in the cache before they are written, as upstream's assume
// cache does, so that the next pod does not take the same volume; it returns the objects to
// restore if writing them fails. The cache lock is held.
func (sc *storageCache) assumeVolumes(b *volumeBindings, node string) (restore func()) {
	var undo []func()
	for claim, pv := range b.static {
		old := pv
		if nv, dirty, err := volumehelpers.GetBindVolumeToClaim(pv, claim); err == nil && dirty {
			sc.volumes[pv.Name] = nv
			undo = append(undo, func() {
				if sc.volumes[old.Name] == nv {
					sc.volumes[old.Name] = old
				}
			})
		}
	}
	for _, claim := range b.provision {
		old, nc := claim, claim.DeepCopy()
		metav1.SetMetaDataAnnotation(&nc.ObjectMeta, helper.AnnSelectedNode, node)
		key := claimKey(claim.Namespace, claim.Name)
		sc.claims[key] = nc
		undo = append(undo, func() {
			if sc.claims[key] == nc {
				sc.claims[key] = old
			}
		})
	}
	return func() {
		for _, f := range undo {
			f()
		}
	}
}

// bindVolumes is upstream's PreBind of VolumeBinding: static volumes get the claimRef (the PV
// controller finishes the binding), claims to provision get the selected-node annotation (the
// PV controller and the provisioner do the rest), then it waits until every claim of the pod is
// bound, or fails when the PV controller gave up on the node (the annotation removed).
func (s *Scheduler) bindVolumes(ctx context.Context, pod *corev1.Pod, b *volumeBindings, node string) error {
	for claim, pv := range b.static {
		nv, dirty, err := volumehelpers.GetBindVolumeToClaim(pv, claim)
		if err != nil {
			return err
		}
		if dirty {
			if _, err := s.client.CoreV1().PersistentVolumes().Update(ctx, nv, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("binding volume %s to claim %s/%s: %w", pv.Name, claim.Namespace, claim.Name, err)
			}
		}
	}
	for _, claim := range b.provision {
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, helper.AnnSelectedNode, node)
		_, err := s.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Patch(ctx, claim.Name, "application/merge-patch+json", []byte(patch), metav1.PatchOptions{})
		if err != nil {
			return fmt.Errorf("selecting node %s for claim %s/%s: %w", node, claim.Namespace, claim.Name, err)
		}
	}
	deadline := s.cfg.Clock.Now().Add(s.cfg.VolumeBindTimeout)
	t := s.cfg.Clock.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		done, err := s.volumesBound(pod, b, node)
		if done || err != nil {
			return err
		}
		if s.cfg.Clock.Now().After(deadline) {
			return fmt.Errorf("binding volumes: context deadline exceeded")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C():
		}
	}
}

// volumesBound is upstream's checkBindings over the cache.
func (s *Scheduler) volumesBound(pod *corev1.Pod, b *volumeBindings, node string) (bool, error) {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	sc := &s.cache.storage
	check := func(orig *corev1.PersistentVolumeClaim, provisioned bool) (bool, error) {
		claim := sc.claims[claimKey(orig.Namespace, orig.Name)]
		if claim == nil || claim.UID != orig.UID {
			return false, apierrors.NewNotFound(corev1.Resource("persistentvolumeclaims"), orig.Name)
		}
		if provisioned && claim.Annotations[helper.AnnSelectedNode] != node && claim.Spec.VolumeName == "" {
			return false, fmt.Errorf("selectedNode annotation reset for PVC %q", claim.Name)
		}
		if claim.Spec.VolumeName == "" || !metav1.HasAnnotation(claim.ObjectMeta, helper.AnnBindCompleted) {
			return false, nil
		}
		pv := sc.volumes[claim.Spec.VolumeName]
		return pv != nil && pv.Spec.ClaimRef != nil && pv.Spec.ClaimRef.UID == claim.UID, nil
	}
	for claim := range b.static {
		if ok, err := check(claim, false); !ok || err != nil {
			return false, err
		}
	}
	for _, claim := range b.provision {
		if ok, err := check(claim, true); !ok || err != nil {
			return false, err
		}
	}
	return true, nil
}
