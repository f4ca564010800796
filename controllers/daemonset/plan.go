package daemonset

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"

	schedulingcorev1 "k8s.io/component-helpers/scheduling/corev1"

	"github.com/skiff-dev/skiff/controllers/replicaset"
)

// This file holds the controller's decisions, free of side effects: which nodes should run a
// daemon pod, which pods to create or delete (PlanManage), the rolling update's step
// (PlanRollingUpdate) and the status counts (CalculateStatus).

const (
	// TemplateGenerationAnnotation carries extensions/v1beta1's spec.templateGeneration on
	// apps/v1 DaemonSets; the API server maintains it.
	TemplateGenerationAnnotation = "deprecated.daemonset.template.generation"
	// TemplateGenerationLabel is the pod label of the template generation a pod was made from.
	TemplateGenerationLabel = "pod-template-generation"
)

// NodePods maps a node name to the DaemonSet's pods meant for that node.
type NodePods map[string][]*corev1.Pod

// AddOrUpdateDaemonPodTolerations adds the tolerations every daemon pod gets, as upstream: it
// keeps running on not-ready and unreachable nodes (NoExecute, no time limit), and is placed
// despite disk, memory and PID pressure and an unschedulable node; host-network pods also
// tolerate an unavailable network.
func AddOrUpdateDaemonPodTolerations(spec *corev1.PodSpec) {
	add := func(key string, effect corev1.TaintEffect) {
		addOrUpdateToleration(spec, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect})
	}
	add(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute)
	add(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)
	add(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule)
	add(corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule)
	add(corev1.TaintNodePIDPressure, corev1.TaintEffectNoSchedule)
	add(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule)
	if spec.HostNetwork {
		add(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule)
	}
}

// addOrUpdateToleration replaces a toleration of the same key, operator, value and effect, or
// appends t (upstream's AddOrUpdateTolerationInPodSpec).
func addOrUpdateToleration(spec *corev1.PodSpec, t corev1.Toleration) {
	for i := range spec.Tolerations {
		if spec.Tolerations[i].MatchToleration(&t) {
			spec.Tolerations[i] = t
			return
		}
	}
	spec.Tolerations = append(spec.Tolerations, t)
}

// NewPod is the pod the DaemonSet would run on nodeName, for judging the node (upstream's
// NewPod): the template with the daemon tolerations.
func NewPod(ds *appsv1.DaemonSet, nodeName string) *corev1.Pod {
	pod := &corev1.Pod{Spec: *ds.Spec.Template.Spec.DeepCopy(), ObjectMeta: *ds.Spec.Template.ObjectMeta.DeepCopy()}
	pod.Namespace = ds.Namespace
	pod.Spec.NodeName = nodeName
	AddOrUpdateDaemonPodTolerations(&pod.Spec)
	return pod
}

// NodeShouldRunDaemonPod is upstream's decision for one node: shouldRun when the template's
// nodeName, nodeSelector and required node affinity match it and every NoSchedule and NoExecute
// taint is tolerated; shouldContinueRunning when it matches and only NoSchedule taints are
// untolerated (a running pod stays).
func NodeShouldRunDaemonPod(node *corev1.Node, ds *appsv1.DaemonSet) (shouldRun, shouldContinueRunning bool) {
	if n := ds.Spec.Template.Spec.NodeName; n != "" && n != node.Name {
		return false, false
	}
	pod := NewPod(ds, node.Name)
	// Parsing errors count as no match, as upstream ignores them.
	if fits, _ := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node); !fits {
		return false, false
	}
	if untolerated(node.Spec.Taints, pod.Spec.Tolerations, corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute) {
		return false, !untolerated(node.Spec.Taints, pod.Spec.Tolerations, corev1.TaintEffectNoExecute)
	}
	return true, true
}

func untolerated(taints []corev1.Taint, tolerations []corev1.Toleration, effects ...corev1.TaintEffect) bool {
	_, found := schedulingcorev1.FindMatchingUntoleratedTaint(klog.Background(), taints, tolerations, func(t *corev1.Taint) bool {
		for _, e := range effects {
			if t.Effect == e {
				return true
			}
		}
		return false
	}, false)
	return found
}

// ReplaceDaemonSetPodNodeNameNodeAffinity makes the required node affinity select exactly
// nodeName by metadata.name, so the default scheduler binds the pod there (upstream since 1.12).
// The node has already been matched against the terms this replaces.
func ReplaceDaemonSetPodNodeNameNodeAffinity(affinity *corev1.Affinity, nodeName string) *corev1.Affinity {
	term := corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{
		Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{nodeName},
	}}}
	if affinity == nil {
		affinity = &corev1.Affinity{}
	}
	if affinity.NodeAffinity == nil {
		affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	if affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{}
	}
	affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms = []corev1.NodeSelectorTerm{term}
	return affinity
}

// TargetNodeName is the node a daemon pod is for: its nodeName, or before binding the node its
// required affinity names by metadata.name.
func TargetNodeName(pod *corev1.Pod) (string, error) {
	if pod.Spec.NodeName != "" {
		return pod.Spec.NodeName, nil
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, f := range term.MatchFields {
				if f.Key == metav1.ObjectNameField && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
					return f.Values[0], nil
				}
			}
		}
	}
	return "", fmt.Errorf("no node name found for pod %s/%s", pod.Namespace, pod.Name)
}

// TemplateGeneration reads the DaemonSet's template generation annotation; nil when absent.
func TemplateGeneration(ds *appsv1.DaemonSet) (*int64, error) {
	v, ok := ds.Annotations[TemplateGenerationAnnotation]
	if !ok {
		return nil, nil
	}
	g, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", TemplateGenerationAnnotation, err)
	}
	return &g, nil
}

// IsPodUpdated tells whether a pod is of the current revision: its controller-revision-hash
// label is hash, or its template generation label is the DaemonSet's.
func IsPodUpdated(pod *corev1.Pod, hash string, generation *int64) bool {
	templateMatches := generation != nil && pod.Labels[TemplateGenerationLabel] == strconv.FormatInt(*generation, 10)
	hashMatches := hash != "" && pod.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash
	return hashMatches || templateMatches
}

// UnavailableCount is maxUnavailable scaled to the number of nodes to schedule (rounded up);
// 0 without a rolling update.
func UnavailableCount(ds *appsv1.DaemonSet, numberToSchedule int) (int, error) {
	r := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || r == nil {
		return 0, nil
	}
	return intstr.GetScaledValueFromIntOrPercent(r.MaxUnavailable, numberToSchedule, true)
}

// SurgeCount is maxSurge scaled to the number of nodes to schedule (rounded up); 0 without a
// rolling update or maxSurge.
func SurgeCount(ds *appsv1.DaemonSet, numberToSchedule int) (int, error) {
	r := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || r == nil || r.MaxSurge == nil {
		return 0, nil
	}
	return intstr.GetScaledValueFromIntOrPercent(r.MaxSurge, numberToSchedule, true)
}

// AllowsSurge tells whether the DaemonSet may run a new pod beside the old one on a node.
func AllowsSurge(ds *appsv1.DaemonSet) bool {
	surge, err := SurgeCount(ds, 1)
	return err == nil && surge != 0
}

// GroupByNode maps the DaemonSet's pods to their target nodes. Terminal pods already being
// deleted are left out unless includeDeletedTerminal; pods without a target are left out.
func GroupByNode(pods []*corev1.Pod, includeDeletedTerminal bool) NodePods {
	m := NodePods{}
	for _, p := range pods {
		if !includeDeletedTerminal && p.DeletionTimestamp != nil && isTerminal(p) {
			continue
		}
		node, err := TargetNodeName(p)
		if err != nil {
			continue
		}
		m[node] = append(m[node], p)
	}
	return m
}

func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded
}

// sortByCreation orders pods scheduled first, then oldest first, then by name (upstream's
// podByCreationTimestampAndPhase).
func sortByCreation(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if (a.Spec.NodeName != "") != (b.Spec.NodeName != "") {
			return a.Spec.NodeName != ""
		}
		if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.Name < b.Name
		}
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	})
}

// FailedPod is a failed daemon pod that should be replaced, subject to the controller's
// back-off per node.
type FailedPod struct {
	Node string
	Pod  *corev1.Pod
}

// ManagePlan is what the controller does to put one daemon pod on each eligible node.
type ManagePlan struct {
	// NodesNeedingPods get a new pod of the current revision.
	NodesNeedingPods []string
	// PodsToDelete are deleted now.
	PodsToDelete []string
	// Failed pods are deleted unless their node is in back-off.
	Failed []FailedPod
}

// PlanManage is upstream's manage loop for every node (podsShouldBeOnNode): create where a pod
// should run and none does; delete failed and succeeded pods, duplicates (all but the oldest,
// or with surge the old pod once the new one is available or the old one not ready), pods on
// nodes that should not run one, and unscheduled pods for nodes that no longer exist.
func PlanManage(ds *appsv1.DaemonSet, nodes []*corev1.Node, nodePods NodePods, hash string, now time.Time) ManagePlan {
	var plan ManagePlan
	surge := AllowsSurge(ds)
	known := make(map[string]bool, len(nodes))
	for _, node := range nodes {
		known[node.Name] = true
		shouldRun, shouldContinueRunning := NodeShouldRunDaemonPod(node, ds)
		pods, exists := nodePods[node.Name]
		switch {
		case shouldRun && !exists:
			plan.NodesNeedingPods = append(plan.NodesNeedingPods, node.Name)
		case shouldContinueRunning:
			var running []*corev1.Pod
			for _, p := range pods {
				switch {
				case p.DeletionTimestamp != nil:
				case p.Status.Phase == corev1.PodFailed:
					plan.Failed = append(plan.Failed, FailedPod{Node: node.Name, Pod: p})
				case p.Status.Phase == corev1.PodSucceeded:
					plan.PodsToDelete = append(plan.PodsToDelete, p.Name)
				default:
					running = append(running, p)
				}
			}
			plan.PodsToDelete = append(plan.PodsToDelete, excessPods(ds, running, surge, shouldRun, hash, now, &plan, node.Name)...)
		case exists:
			for _, p := range pods {
				if p.DeletionTimestamp == nil {
					plan.PodsToDelete = append(plan.PodsToDelete, p.Name)
				}
			}
		}
	}
	for _, name := range sortedNodeNames(nodePods) {
		if known[name] {
			continue
		}
		for _, p := range nodePods[name] {
			if p.Spec.NodeName == "" && p.DeletionTimestamp == nil {
				plan.PodsToDelete = append(plan.PodsToDelete, p.Name)
			}
		}
	}
	return plan
}

// excessPods returns the running pods of one node to delete; with surge and no running pod it
// asks for a new one.
func excessPods(ds *appsv1.DaemonSet, running []*corev1.Pod, surge, shouldRun bool, hash string, now time.Time, plan *ManagePlan, node string) []string {
	sortByCreation(running)
	var del []string
	if !surge {
		for _, p := range running[min(1, len(running)):] {
			del = append(del, p.Name)
		}
		return del
	}
	if len(running) <= 1 {
		if len(running) == 0 && shouldRun {
			plan.NodesNeedingPods = append(plan.NodesNeedingPods, node)
		}
		return nil
	}
	// Two pods may stay only while the oldest new one is not yet available and the oldest old
	// one is ready.
	var oldestNew, oldestOld *corev1.Pod
	for _, p := range running {
		switch {
		case p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash && oldestNew == nil:
			oldestNew = p
		case p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] != hash && oldestOld == nil:
			oldestOld = p
		default:
			del = append(del, p.Name)
		}
	}
	if oldestNew != nil && oldestOld != nil &&
		(!replicaset.IsPodReady(oldestOld) || replicaset.IsPodAvailable(oldestNew, ds.Spec.MinReadySeconds, now)) {
		del = append(del, oldestOld.Name)
	}
	return del
}

func sortedNodeNames(nodePods NodePods) []string {
	names := make([]string, 0, len(nodePods))
	for n := range nodePods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RollingPlan is one step of a rolling update.
type RollingPlan struct {
	PodsToDelete  []string
	NodesToCreate []string
}

// errExcessPods never leaves this file: it marks a node the manage loop must prune first.
var errExcessPods = errors.New("more than one old or new pod on the node")

// updatedPodsOnNode returns the node's live pod of the current revision and its old one; an
// error when there are several of either.
func updatedPodsOnNode(pods []*corev1.Pod, hash string, generation *int64) (newPod, oldPod *corev1.Pod, err error) {
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if IsPodUpdated(p, hash, generation) {
			if newPod != nil {
				return nil, nil, errExcessPods
			}
			newPod = p
		} else {
			if oldPod != nil {
				return nil, nil, errExcessPods
			}
			oldPod = p
		}
	}
	return newPod, oldPod, nil
}

// PlanRollingUpdate is upstream's rollingUpdate step. Without surge it deletes old pods (the
// manage loop then creates new ones) while fewer than maxUnavailable nodes lack an available
// pod, unavailable old pods always. With surge it creates new pods beside old ones, up to
// maxSurge at a time (at once where the old pod is unavailable), and deletes each old pod once
// its new one is available.
func PlanRollingUpdate(ds *appsv1.DaemonSet, nodes []*corev1.Node, nodePods NodePods, hash string, now time.Time) (RollingPlan, error) {
	byName := make(map[string]*corev1.Node, len(nodes))
	desired := 0
	all := NodePods{}
	for name, pods := range nodePods {
		all[name] = pods
	}
	for _, node := range nodes {
		byName[node.Name] = node
		if shouldRun, _ := NodeShouldRunDaemonPod(node, ds); shouldRun {
			desired++
			if _, ok := all[node.Name]; !ok {
				all[node.Name] = nil
			}
		}
	}
	maxUnavailable, err := UnavailableCount(ds, desired)
	if err != nil {
		return RollingPlan{}, fmt.Errorf("invalid value for MaxUnavailable: %w", err)
	}
	maxSurge, err := SurgeCount(ds, desired)
	if err != nil {
		return RollingPlan{}, fmt.Errorf("invalid value for MaxSurge: %w", err)
	}
	if desired > 0 && maxUnavailable == 0 && maxSurge == 0 {
		// An impossible configuration: accept unavailability, as upstream.
		maxUnavailable = 1
	}
	generation, err := TemplateGeneration(ds)
	if err != nil {
		generation = nil
	}
	available := func(p *corev1.Pod) bool { return replicaset.IsPodAvailable(p, ds.Spec.MinReadySeconds, now) }
	shouldRun := func(name string) bool {
		node, ok := byName[name]
		if !ok {
			return false
		}
		run, _ := NodeShouldRunDaemonPod(node, ds)
		return run
	}
	names := sortedNodeNames(all)

	if maxSurge == 0 {
		numUnavailable := 0
		var replacements, candidates []string
		for _, name := range names {
			newPod, oldPod, err := updatedPodsOnNode(all[name], hash, generation)
			switch {
			case err != nil:
				// The manage loop prunes this node first; it counts as unavailable.
				numUnavailable++
			case oldPod == nil && newPod == nil, oldPod != nil && newPod != nil:
				numUnavailable++
			case newPod != nil:
				if !available(newPod) {
					numUnavailable++
				}
			case !available(oldPod):
				replacements = append(replacements, oldPod.Name)
				numUnavailable++
			case numUnavailable < maxUnavailable:
				candidates = append(candidates, oldPod.Name)
			}
		}
		remaining := min(max(maxUnavailable-numUnavailable, 0), len(candidates))
		return RollingPlan{PodsToDelete: append(replacements, candidates[:remaining]...)}, nil
	}

	var plan RollingPlan
	var shouldNotRun, candidates, allowed []string
	numSurge, numAvailable := 0, 0
	for _, name := range names {
		newPod, oldPod, err := updatedPodsOnNode(all[name], hash, generation)
		if err != nil {
			numSurge++
			continue
		}
		if oldPod != nil && available(oldPod) || oldPod == nil && newPod != nil && available(newPod) {
			numAvailable++
		}
		switch {
		case oldPod == nil:
		case newPod == nil:
			switch {
			case !available(oldPod):
				if !shouldRun(name) {
					plan.PodsToDelete = append(plan.PodsToDelete, oldPod.Name)
					continue
				}
				allowed = append(allowed, name)
			case !shouldRun(name):
				shouldNotRun = append(shouldNotRun, oldPod.Name)
			case numSurge < maxSurge:
				candidates = append(candidates, name)
			}
		default:
			if !available(newPod) {
				numSurge++
				continue
			}
			plan.PodsToDelete = append(plan.PodsToDelete, oldPod.Name)
		}
	}
	// With surge the owner expects full availability: pods on nodes that no longer qualify go
	// only as others become available.
	if deletable := min(numAvailable-desired, len(shouldNotRun)); deletable > 0 {
		plan.PodsToDelete = append(plan.PodsToDelete, shouldNotRun[:deletable]...)
	}
	remaining := min(max(maxSurge-numSurge, 0), len(candidates))
	plan.NodesToCreate = append(allowed, candidates[:remaining]...)
	return plan, nil
}

// CalculateStatus counts, as upstream's updateDaemonSetStatus, the nodes that should run a
// pod and, looking at the oldest pod of each, those that do, are ready, available (ready for
// minReadySeconds) and updated, plus the pods on nodes that should not run one.
func CalculateStatus(ds *appsv1.DaemonSet, nodes []*corev1.Node, nodePods NodePods, hash string, now time.Time) appsv1.DaemonSetStatus {
	var st appsv1.DaemonSetStatus
	generation, err := TemplateGeneration(ds)
	if err != nil {
		generation = nil
	}
	for _, node := range nodes {
		shouldRun, _ := NodeShouldRunDaemonPod(node, ds)
		pods := nodePods[node.Name]
		if !shouldRun {
			if len(pods) > 0 {
				st.NumberMisscheduled++
			}
			continue
		}
		st.DesiredNumberScheduled++
		if len(pods) == 0 {
			continue
		}
		st.CurrentNumberScheduled++
		sorted := append([]*corev1.Pod(nil), pods...)
		sortByCreation(sorted)
		pod := sorted[0]
		if replicaset.IsPodReady(pod) {
			st.NumberReady++
			if replicaset.IsPodAvailable(pod, ds.Spec.MinReadySeconds, now) {
				st.NumberAvailable++
			}
		}
		if IsPodUpdated(pod, hash, generation) {
			st.UpdatedNumberScheduled++
		}
	}
	st.NumberUnavailable = st.DesiredNumberScheduled - st.NumberAvailable
	return st
}
