package apistatus

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/nodeagent/eviction"
)

// KubeletVersion is what nodes report as nodeInfo.kubeletVersion.
const KubeletVersion = "v1.37.2-skiff"

// NodeStatusInput is what a node's status is computed from: the agent's machine, runtime and
// eviction state, or a simulated node's configuration (nodeagent/simulated).
type NodeStatusInput struct {
	Capacity, Allocatable corev1.ResourceList
	Addresses             []corev1.NodeAddress
	KubeletPort           int32
	NodeInfo              corev1.NodeSystemInfo
	// NetworkNotReady makes Ready False: the pod network is not configured yet.
	NetworkNotReady bool
	// Pressure are the node conditions under pressure (eviction.Conditions).
	Pressure []corev1.NodeConditionType
	Now      time.Time
}

// NodeStatus computes a node's status as the kubelet's setters do; heartbeat times are now,
// transition times carried from old when a condition did not change. Extended resources others
// advertised in old's capacity stay.
func NodeStatus(in NodeStatusInput, old *corev1.NodeStatus) corev1.NodeStatus {
	now := metav1.NewTime(in.Now)
	capacity, allocatable := in.Capacity, in.Allocatable
	if old != nil {
		// Extended resources others advertised in the node's capacity (a device plugin's, or
		// `kubectl patch node --subresource=status`) stay, allocatable as capacity, as the
		// kubelet keeps them.
		for name, q := range old.Capacity {
			if helper.IsExtendedResourceName(name) {
				if _, ok := capacity[name]; !ok {
					capacity, allocatable = capacity.DeepCopy(), allocatable.DeepCopy()
				}
				capacity[name], allocatable[name] = q.DeepCopy(), q.DeepCopy()
			}
		}
	}
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		c := corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
		if old != nil {
			for _, o := range old.Conditions {
				if o.Type == t && o.Status == s {
					c.LastTransitionTime = o.LastTransitionTime
				}
			}
		}
		return c
	}
	ready := cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status")
	if in.NetworkNotReady {
		// The kubelet's message while the runtime has no CNI config.
		ready = cond(corev1.NodeReady, corev1.ConditionFalse, "KubeletNotReady",
			"container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized")
	}
	// The pressure conditions from the eviction manager's observations, before Ready.
	conditions := make([]corev1.NodeCondition, 0, len(eviction.Conditions)+1)
	for _, t := range eviction.Conditions {
		s, reason, msg := PressureCondition(t, slices.Contains(in.Pressure, t))
		conditions = append(conditions, cond(t, s, reason, msg))
	}
	st := corev1.NodeStatus{
		Capacity:        capacity,
		Allocatable:     allocatable,
		Conditions:      append(conditions, ready),
		Addresses:       in.Addresses,
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: in.KubeletPort}},
		NodeInfo:        in.NodeInfo,
	}
	if old != nil {
		st.Images, st.VolumesInUse, st.VolumesAttached, st.Config = old.Images, old.VolumesInUse, old.VolumesAttached, old.Config
	}
	return st
}

// NodeStatusDue reports whether a node posts its next status: there is none, it changed from
// the last one posted (heartbeat times aside), or a report slot passed since the last report.
// A node's report slots are reportInterval apart (upstream's nodeStatusReportFrequency, 5 min;
// the Lease carries the heartbeat otherwise), at the phase of the node called node
// (ReportPhase): nodes registered together, a simulated pool or a fleet booted at once, would
// otherwise post together every interval ever after (issue 17: 5,000 simulated nodes posted
// within one minute of each five). A node still reports at least once an interval.
func NodeStatusDue(last, next *corev1.NodeStatus, lastReport, now time.Time, reportInterval time.Duration, node string) bool {
	return last == nil || statusChanged(last, next) ||
		lastReport.Before(lastSlot(now, reportInterval, ReportPhase(node, reportInterval)))
}

// lastSlot is the latest report slot at or before now: phase past a multiple of interval since
// the Unix epoch (now itself for no interval).
func lastSlot(now time.Time, interval, phase time.Duration) time.Time {
	if interval <= 0 {
		return now
	}
	off := (now.UnixNano() - int64(phase)) % int64(interval)
	if off < 0 {
		off += int64(interval)
	}
	return now.Add(-time.Duration(off))
}

// ReportPhase is the report phase within interval of the node called name: a hash of the name,
// so that nodes spread evenly and each keeps its slot across restarts.
func ReportPhase(name string, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(interval))
}

// LastReport is the node status a node last posted and when: the agent's and each simulated
// node's memory for NodeStatusDue. The zero value has none, so the next status is due.
type LastReport struct {
	mu     sync.Mutex
	status *corev1.NodeStatus
	at     time.Time
}

// Set records st as posted at now.
func (r *LastReport) Set(st *corev1.NodeStatus, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.at = st, now
}

// Forget drops the last status, so the next one is due at once (a heartbeat fault ended: the
// node lifecycle controller marked the node Unknown meanwhile).
func (r *LastReport) Forget() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = nil
}

// Get is the last status posted (nil: none) and when.
func (r *LastReport) Get() (*corev1.NodeStatus, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status, r.at
}

// statusChanged compares two node statuses without heartbeat times, as the API stores them
// (times to the second, quantities by value, an empty list as none). It compares in place: a
// simulated pool asks for each of its thousands of nodes every 10 s (issue 17: marshalling both
// to JSON was 8 % of the pool's CPU at 5,000 nodes).
func statusChanged(a, b *corev1.NodeStatus) bool {
	if len(a.Conditions) != len(b.Conditions) {
		return true
	}
	for i := range a.Conditions {
		ca, cb := a.Conditions[i], b.Conditions[i]
		ca.LastHeartbeatTime, cb.LastHeartbeatTime = metav1.Time{}, metav1.Time{}
		if !storedEquality.DeepEqual(ca, cb) {
			return true
		}
	}
	sa, sb := *a, *b
	sa.Conditions, sb.Conditions = nil, nil
	return !storedEquality.DeepEqual(sa, sb)
}

// storedEquality is equality.Semantic with times compared to the second, their precision in
// the API's JSON and protobuf.
var storedEquality = conversion.EqualitiesOrDie(
	func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 },
	func(a, b metav1.Time) bool { return a.Unix() == b.Unix() },
)

// NodeRegistration registers a node's Node and posts its status, for the agent and simulated
// nodes alike.
type NodeRegistration struct {
	Client  kubernetes.Interface
	Name    string
	Labels  map[string]string
	Taints  []corev1.Taint
	PodCIDR string
	// Status computes the status to post from the Node's current one (nil at creation).
	Status func(old *corev1.NodeStatus) corev1.NodeStatus
}

// Register creates the Node, or reconciles an existing one (labels, pod CIDR), and posts its
// status; it returns the status posted.
func (r NodeRegistration) Register(ctx context.Context) (*corev1.NodeStatus, error) {
	nodes := r.Client.CoreV1().Nodes()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: r.Name, Labels: r.Labels}}
	if r.PodCIDR != "" {
		node.Spec.PodCIDR, node.Spec.PodCIDRs = r.PodCIDR, []string{r.PodCIDR}
	}
	node.Spec.Taints = r.Taints
	node.Status = r.Status(nil)
	created, err := nodes.Create(ctx, node, metav1.CreateOptions{})
	if err == nil {
		// status is dropped on create by the node strategy; post it.
		created.Status = node.Status
		upd, err := nodes.UpdateStatus(ctx, created, metav1.UpdateOptions{})
		if err != nil {
			return nil, fmt.Errorf("posting node status: %w", err)
		}
		klog.FromContext(ctx).Info("Node registered", "node", r.Name)
		return &upd.Status, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("registering node %s: %w", r.Name, err)
	}
	cur, err := nodes.Get(ctx, r.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading node %s: %w", r.Name, err)
	}
	changed := false
	if cur.Labels == nil {
		cur.Labels = map[string]string{}
	}
	for k, v := range r.Labels {
		if cur.Labels[k] != v {
			cur.Labels[k] = v
			changed = true
		}
	}
	if cur.Spec.PodCIDR == "" && r.PodCIDR != "" {
		cur.Spec.PodCIDR, cur.Spec.PodCIDRs = r.PodCIDR, []string{r.PodCIDR}
		changed = true
	}
	if changed {
		if cur, err = nodes.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return nil, fmt.Errorf("updating node %s: %w", r.Name, err)
		}
	}
	return r.post(ctx, cur)
}

// Post posts a freshly computed status on the Node, registering it again when it is gone.
func (r NodeRegistration) Post(ctx context.Context) (*corev1.NodeStatus, error) {
	cur, err := r.Client.CoreV1().Nodes().Get(ctx, r.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return r.Register(ctx)
	}
	if err != nil {
		return nil, err
	}
	return r.post(ctx, cur)
}

func (r NodeRegistration) post(ctx context.Context, cur *corev1.Node) (*corev1.NodeStatus, error) {
	cur.Status = r.Status(&cur.Status)
	upd, err := r.Client.CoreV1().Nodes().UpdateStatus(ctx, cur, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("posting node status: %w", err)
	}
	return &upd.Status, nil
}

// PressureCondition is a pressure condition of the node status, True when the eviction manager
// sees the pressure, with the kubelet's reasons and messages.
func PressureCondition(t corev1.NodeConditionType, under bool) (corev1.ConditionStatus, string, string) {
	type text struct{ reason, msg string }
	texts := map[corev1.NodeConditionType][2]text{
		corev1.NodeMemoryPressure: {{"KubeletHasSufficientMemory", "kubelet has sufficient memory available"}, {"KubeletHasInsufficientMemory", "kubelet has insufficient memory available"}},
		corev1.NodeDiskPressure:   {{"KubeletHasNoDiskPressure", "kubelet has no disk pressure"}, {"KubeletHasDiskPressure", "kubelet has disk pressure"}},
		corev1.NodePIDPressure:    {{"KubeletHasSufficientPID", "kubelet has sufficient PID available"}, {"KubeletHasInsufficientPID", "kubelet has insufficient PID available"}},
	}
	if under {
		return corev1.ConditionTrue, texts[t][1].reason, texts[t][1].msg
	}
	return corev1.ConditionFalse, texts[t][0].reason, texts[t][0].msg
}

// PutPodStatus writes p.Status as the pod's status (pods/status). On a conflict it reads the pod
// again and writes the status with the conditions others own that it lacks (DisruptionTarget,
// readiness gates), as the kubelet's status manager. A pod gone or replaced (another UID) is
// not an error and not written. It returns the resourceVersion of the pod the write replaced.
func PutPodStatus(ctx context.Context, pods typedcorev1.PodInterface, p *corev1.Pod) (base string, written bool, err error) {
	base = p.ResourceVersion
	_, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		cur, gerr := pods.Get(ctx, p.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(gerr) {
			return "", false, nil
		}
		if gerr != nil {
			return "", false, gerr
		}
		if cur.UID != p.UID {
			return "", false, nil
		}
		// keep conditions others own
		merged := p.Status.DeepCopy()
		for _, c := range cur.Status.Conditions {
			if !hasCondition(merged.Conditions, c.Type) {
				merged.Conditions = append(merged.Conditions, c)
			}
		}
		cur.Status = *merged
		base = cur.ResourceVersion
		_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
	}
	if apierrors.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("writing pod status: %w", err)
	}
	return base, true, nil
}

func hasCondition(cs []corev1.PodCondition, t corev1.PodConditionType) bool {
	for _, c := range cs {
		if c.Type == t {
			return true
		}
	}
	return false
}
