package scheduler

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/apis/helper"
)

// Taint keys the node lifecycle controller puts on nodes by condition.
const (
	taintNotReady      = "node.kubernetes.io/not-ready"
	taintUnreachable   = "node.kubernetes.io/unreachable"
	taintUnschedulable = "node.kubernetes.io/unschedulable"
)

// nodeInfo aggregates a node and the pods assigned (or assumed) to it. Its aggregates change
// incrementally as pods come and go.
type nodeInfo struct {
	name string
	node *corev1.Node // nil while only pods naming the node are known

	allocatable resources
	allowedPods int64

	requested resources // sum of exact requests of the node's pods
	nonzero   resources // same with scoring defaults
	numPods   int64
	pods      map[types.UID]*podInfo
	ports     map[helper.HostPort]int
	owners    map[types.UID]int
	// affinityPods counts pods with inter-pod (anti-)affinity, requiredAntiPods those with
	// required anti-affinity terms.
	affinityPods, requiredAntiPods int

	hardTaints    []corev1.Taint // NoSchedule and NoExecute, with any condition taint implied
	softTaints    []corev1.Taint // PreferNoSchedule
	unschedulable bool

	index int // position in cache.nodes; -1 when node is nil
}

func newNodeInfo(name string) *nodeInfo {
	return &nodeInfo{name: name, pods: map[types.UID]*podInfo{}, index: -1}
}

// setNode records node's allocatable, taints and schedulability.
func (ni *nodeInfo) setNode(node *corev1.Node) {
	ni.node = node
	ni.allocatable = resourcesOf(node.Status.Allocatable)
	ni.allowedPods = 0
	if q, ok := node.Status.Allocatable[corev1.ResourcePods]; ok {
		ni.allowedPods = q.Value()
	}
	ni.unschedulable = node.Spec.Unschedulable
	ni.hardTaints, ni.softTaints = nil, nil
	hasCondTaint := false
	for _, t := range node.Spec.Taints {
		switch t.Effect {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute:
			ni.hardTaints = append(ni.hardTaints, t)
			if t.Key == taintNotReady || t.Key == taintUnreachable {
				hasCondTaint = true
			}
		case corev1.TaintEffectPreferNoSchedule:
			ni.softTaints = append(ni.softTaints, t)
		}
	}
	// A node that is not Ready gets the not-ready or unreachable taint from the node lifecycle
	// controller; until it has one, behave as if it had.
	if !hasCondTaint {
		if key := conditionTaintKey(node); key != "" {
			ni.hardTaints = append(ni.hardTaints, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule})
		}
	}
}

// conditionTaintKey is the taint a node's Ready condition implies, or "" for a Ready node.
func conditionTaintKey(node *corev1.Node) string {
	for i := range node.Status.Conditions {
		c := &node.Status.Conditions[i]
		if c.Type != corev1.NodeReady {
			continue
		}
		switch c.Status {
		case corev1.ConditionTrue:
			return ""
		case corev1.ConditionFalse:
			return taintNotReady
		default:
			return taintUnreachable
		}
	}
	return taintUnreachable
}

func (ni *nodeInfo) addPod(pi *podInfo) {
	ni.pods[pi.uid] = pi
	ni.requested.add(pi.req)
	ni.nonzero.add(pi.nonzero)
	ni.numPods++
	if len(pi.ports) > 0 {
		if ni.ports == nil {
			ni.ports = map[helper.HostPort]int{}
		}
		for _, p := range pi.ports {
			ni.ports[p]++
		}
	}
	ni.countAffinity(pi, 1)
	if pi.owner != "" {
		if ni.owners == nil {
			ni.owners = map[types.UID]int{}
		}
		ni.owners[pi.owner]++
	}
}

func (ni *nodeInfo) removePod(pi *podInfo) {
	if _, ok := ni.pods[pi.uid]; !ok {
		return
	}
	delete(ni.pods, pi.uid)
	ni.requested.sub(pi.req)
	ni.nonzero.sub(pi.nonzero)
	ni.numPods--
	for _, p := range pi.ports {
		if ni.ports[p]--; ni.ports[p] <= 0 {
			delete(ni.ports, p)
		}
	}
	ni.countAffinity(pi, -1)
	if pi.owner != "" {
		if ni.owners[pi.owner]--; ni.owners[pi.owner] <= 0 {
			delete(ni.owners, pi.owner)
		}
	}
}

func (ni *nodeInfo) countAffinity(pi *podInfo, delta int) {
	if pi.podAff == nil {
		return
	}
	ni.affinityPods += delta
	if len(pi.podAff.requiredAnti) > 0 {
		ni.requiredAntiPods += delta
	}
}

// portsConflict reports whether any wanted host port is in use on the node: same protocol and
// port, and either address is the wildcard or they are equal.
func (ni *nodeInfo) portsConflict(want []helper.HostPort) bool {
	if len(ni.ports) == 0 {
		return false
	}
	for _, w := range want {
		if w.IP == "0.0.0.0" {
			for used := range ni.ports {
				if used.Protocol == w.Protocol && used.Port == w.Port {
					return true
				}
			}
			continue
		}
		if ni.ports[w] > 0 || ni.ports[helper.HostPort{Protocol: w.Protocol, IP: "0.0.0.0", Port: w.Port}] > 0 {
			return true
		}
	}
	return false
}

// schedCache holds every node and every assigned or assumed pod, guarded by mu.
type schedCache struct {
	mu    sync.Mutex
	infos map[string]*nodeInfo // by node name, including pod-only entries
	nodes []*nodeInfo          // infos with a Node, in a stable order for round-robin sampling
	pods  map[types.UID]*podInfo
	// assumed pods are bound by this scheduler but not yet seen assigned by the watch.
	assumed map[types.UID]bool
	// nominated holds pending pods nominated to a node (status.nominatedNodeName, or by this
	// scheduler's preemption), by node name: their requests are kept free for them there from
	// pods of lower priority.
	nominated map[string]map[types.UID]*podInfo
	// preempting holds victims this scheduler chose and has not yet seen go: a preemptor whose
	// victims are still on its nominated node does not preempt again.
	preempting map[types.UID]bool
	// namespaces holds each namespace's labels, for namespaceSelectors of pod affinity terms.
	namespaces map[string]labels.Set
	// storage holds claims, volumes and classes for VolumeBinding.
	storage storageCache
}

func newSchedCache() *schedCache {
	return &schedCache{infos: map[string]*nodeInfo{}, pods: map[types.UID]*podInfo{}, assumed: map[types.UID]bool{}, namespaces: map[string]labels.Set{}, nominated: map[string]map[types.UID]*podInfo{}, preempting: map[types.UID]bool{},
		storage: newStorageCache()}
}

func (c *schedCache) info(name string) *nodeInfo {
	ni := c.infos[name]
	if ni == nil {
		ni = newNodeInfo(name)
		c.infos[name] = ni
	}
	return ni
}

// setNode adds or updates a node.
func (c *schedCache) setNode(node *corev1.Node) {
	ni := c.info(node.Name)
	if ni.index < 0 {
		ni.index = len(c.nodes)
		c.nodes = append(c.nodes, ni)
	}
	ni.setNode(node)
}

func (c *schedCache) removeNode(name string) {
	ni := c.infos[name]
	if ni == nil || ni.index < 0 {
		return
	}
	last := c.nodes[len(c.nodes)-1]
	c.nodes[ni.index] = last
	last.index = ni.index
	c.nodes = c.nodes[:len(c.nodes)-1]
	ni.index, ni.node = -1, nil
	if len(ni.pods) == 0 {
		delete(c.infos, name)
	}
}

// addPod records an assigned, non-terminated pod (confirming it if it was assumed).
func (c *schedCache) addPod(pod *corev1.Pod) {
	c.removePodUID(pod.UID)
	pi := newPodInfo(pod)
	c.pods[pi.uid] = pi
	c.info(pi.nodeName).addPod(pi)
}

// assume counts pi against nodeName before the binding is observed.
func (c *schedCache) assume(pi *podInfo, nodeName string) {
	c.removePodUID(pi.uid)
	a := *pi
	a.nodeName = nodeName
	c.pods[a.uid] = &a
	c.assumed[a.uid] = true
	c.info(nodeName).addPod(&a)
}

// forget drops an assumed pod whose binding failed; a confirmed pod stays.
func (c *schedCache) forget(uid types.UID) {
	if c.assumed[uid] {
		c.removePodUID(uid)
	}
}

func (c *schedCache) removePodUID(uid types.UID) {
	pi := c.pods[uid]
	if pi == nil {
		return
	}
	delete(c.pods, uid)
	delete(c.assumed, uid)
	delete(c.preempting, uid)
	if ni := c.infos[pi.nodeName]; ni != nil {
		ni.removePod(pi)
		if ni.node == nil && len(ni.pods) == 0 {
			delete(c.infos, pi.nodeName)
		}
	}
}

// namespaceLabels returns a namespace's labels (nil when unknown); the lock is held.
func (c *schedCache) namespaceLabels(ns string) labels.Set { return c.namespaces[ns] }

// nominate records pi as nominated to node ("" forgets any nomination).
func (c *schedCache) nominate(pi *podInfo, node string) {
	for name, m := range c.nominated {
		if _, ok := m[pi.uid]; ok && name != node {
			delete(m, pi.uid)
			if len(m) == 0 {
				delete(c.nominated, name)
			}
		}
	}
	if node == "" {
		return
	}
	if c.nominated[node] == nil {
		c.nominated[node] = map[types.UID]*podInfo{}
	}
	c.nominated[node][pi.uid] = pi
}

// withNominated returns ni, or a copy with the pods nominated to it of pi's priority or higher
// added, as upstream filters with nominated pods.
func (c *schedCache) withNominated(pi *podInfo, ni *nodeInfo) *nodeInfo {
	if len(c.nominated) == 0 {
		return ni
	}
	m := c.nominated[ni.name]
	if len(m) == 0 {
		return ni
	}
	prio := priorityOf(pi.pod)
	var out *nodeInfo
	for uid, p := range m {
		if uid == pi.uid || priorityOf(p.pod) < prio {
			continue
		}
		if _, ok := ni.pods[uid]; ok {
			continue
		}
		if out == nil {
			out = ni.clone()
		}
		out.addPod(p)
	}
	if out == nil {
		return ni
	}
	return out
}

// nominatedNode is the node pi is nominated to in the cache, or "".
func (c *schedCache) nominatedNode(uid types.UID) string {
	for name, m := range c.nominated {
		if _, ok := m[uid]; ok {
			return name
		}
	}
	return ""
}
