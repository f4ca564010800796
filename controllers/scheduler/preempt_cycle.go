package scheduler

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
)

// preemption is what postFilter decided when preemption found a node.
type preemption struct {
	node    string
	victims []*corev1.Pod
	// unnominated are pending pods of lower priority that were nominated to the node: as
	// upstream, they lose the nomination (the room is now the preemptor's).
	unnominated []*corev1.Pod
}

// postFilter is upstream's DefaultPreemption PostFilter for a pod that fits nowhere. It returns
// the Unschedulable message and, when preemption found a node, what to do there (the node is
// then nominated for the pod in the cache).
func (s *Scheduler) postFilter(ctx context.Context, pi *podInfo, numNodes int, statuses []nodeStatus) (string, *preemption) {
	pod := pi.pod
	if numNodes == 0 {
		return ErrNoNodesAvailable, nil
	}
	fit := fitMessage(numNodes, statuses)
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == corev1.PreemptNever {
		return fit + " preemption: " + preemptionNever, nil
	}
	helpful := false
	for _, st := range statuses {
		helpful = helpful || !st.unresolvable
	}
	s.cache.mu.Lock()
	nominated := pod.Status.NominatedNodeName
	if n := s.cache.nominatedNode(pod.UID); n != "" {
		nominated = n
	}
	why := preemptionEligible(pod, nominated, s.cache.infos, s.cache.preempting)
	mayHaveVictims := helpful && why == "" && hasLowerPriorityPods(s.cache.nodes, priorityOf(pod))
	s.cache.mu.Unlock()
	switch {
	case why != "":
		return fit + " preemption: " + why, nil
	case !mayHaveVictims:
		// No dry run can find victims: as upstream, each node is one where preemption is
		// not helpful or one without victims.
		return unschedulableMessage(pod, numNodes, statuses), nil
	}
	pdbs, err := s.listPDBs(ctx)
	if err != nil {
		klog.FromContext(ctx).Error(err, "Listing PodDisruptionBudgets failed", "pod", klog.KObj(pod))
		return fit + " preemption: " + err.Error(), nil
	}
	now := s.cfg.Clock.Now()

	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	// The cache may have changed since filtering: filter again over the current nodes.
	nodes := s.cache.nodes
	cs := newCycleState(pi, nodes, s.cache.namespaceLabels)
	cs.volumes = s.cache.storage.volumePreFilter(pod)
	current := make([]nodeStatus, len(nodes))
	for i, ni := range nodes {
		current[i] = filterNode(pi, s.cache.withNominated(pi, ni), cs)
		if current[i].fits() {
			// Room appeared meanwhile: retry without preempting.
			return fit, nil
		}
	}
	cands, reasons := findCandidates(pi, nodes, current, cs, newPDBInfos(pdbs), now)
	c := pickCandidate(cands, now)
	if c == nil {
		return fit + fmt.Sprintf(" preemption: 0/%v nodes are available: %s.", len(nodes), histogram(reasons)), nil
	}
	pre := &preemption{node: c.node.name}
	for _, v := range c.victims {
		pre.victims = append(pre.victims, v.pod)
		s.cache.preempting[v.uid] = true
	}
	for uid, p := range s.cache.nominated[c.node.name] {
		if uid != pi.uid && priorityOf(p.pod) < priorityOf(pod) {
			pre.unnominated = append(pre.unnominated, p.pod)
		}
	}
	for _, p := range pre.unnominated {
		s.cache.nominate(&podInfo{uid: p.UID}, "")
	}
	s.cache.nominate(pi, c.node.name)
	return fit, pre
}

// listPDBs reads policy/v1 PodDisruptionBudgets; a server without the kind has none.
func (s *Scheduler) listPDBs(ctx context.Context) ([]policyv1.PodDisruptionBudget, error) {
	list, err := s.client.PolicyV1().PodDisruptionBudgets("").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing poddisruptionbudgets: %w", err)
	}
	return list.Items, nil
}

// evict marks each victim with the DisruptionTarget condition, deletes it and records the
// Preempted event, then clears the nomination of lower-priority pods nominated to the node, as
// upstream's preemption does.
func (s *Scheduler) evict(ctx context.Context, preemptor *corev1.Pod, pre *preemption) {
	logger := klog.FromContext(ctx)
	node := pre.node
	defer func() {
		for _, p := range pre.unnominated {
			_, err := s.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.MergePatchType,
				[]byte(`{"status":{"nominatedNodeName":null}}`), metav1.PatchOptions{}, "status")
			if err != nil && !apierrors.IsNotFound(err) {
				logger.Error(err, "Clearing a nominated node failed", "pod", klog.KObj(p))
			}
		}
	}()
	for _, v := range pre.victims {
		if v.DeletionTimestamp == nil {
			cond := corev1.PodCondition{
				Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
				Reason:             corev1.PodReasonPreemptionByScheduler,
				Message:            fmt.Sprintf("%s: preempting to accommodate a higher priority pod", s.cfg.SchedulerName),
				LastTransitionTime: metav1.NewTime(s.cfg.Clock.Now()),
			}
			patch, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": []corev1.PodCondition{cond}}})
			if err == nil {
				_, err = s.client.CoreV1().Pods(v.Namespace).Patch(ctx, v.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
			}
			if err != nil && !apierrors.IsNotFound(err) {
				logger.Error(err, "Setting the DisruptionTarget condition failed", "pod", klog.KObj(v))
			}
			uid := v.UID
			err = s.client.CoreV1().Pods(v.Namespace).Delete(ctx, v.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				logger.Error(err, "Deleting a preemption victim failed", "pod", klog.KObj(v))
				s.cache.mu.Lock()
				delete(s.cache.preempting, v.UID)
				s.cache.mu.Unlock()
				continue
			}
		}
		s.recorder.Eventf(v, corev1.EventTypeNormal, "Preempted", "Preempted by pod %v on node %v", preemptor.UID, node)
		logger.V(2).Info("Preempted pod", "victim", klog.KObj(v), "preemptor", klog.KObj(preemptor), "node", node)
	}
}

// hasLowerPriorityPods reports whether any node runs a pod of priority below prio.
func hasLowerPriorityPods(nodes []*nodeInfo, prio int32) bool {
	for _, ni := range nodes {
		for _, p := range ni.pods {
			if priorityOf(p.pod) < prio {
				return true
			}
		}
	}
	return false
}
