package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/nodeagent/eviction"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// KubeletVersion is what the agent reports as nodeInfo.kubeletVersion.
const KubeletVersion = "v1.37.2-skiff"

// MachineInfo is what the agent knows about the machine.
type MachineInfo struct {
	NumCPU           int
	MemoryBytes      int64
	EphemeralStorage int64
	KernelVersion    string
	OSImage          string
	MachineID        string
	BootID           string
}

// ReadMachineInfo reads /proc/meminfo, statfs of dataDir, uname and /etc/os-release.
func ReadMachineInfo(dataDir string) MachineInfo {
	mi := MachineInfo{NumCPU: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mi.MemoryBytes = ParseMemTotal(b)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dataDir, &st); err == nil {
		mi.EphemeralStorage = int64(st.Blocks) * int64(st.Bsize)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		mi.KernelVersion = unix.ByteSliceToString(u.Release[:])
	}
	mi.OSImage = "Linux"
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		if v := ParseOSRelease(b)["PRETTY_NAME"]; v != "" {
			mi.OSImage = v
		}
	}
	if b, err := os.ReadFile("/etc/machine-id"); err == nil {
		mi.MachineID = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		mi.BootID = strings.TrimSpace(string(b))
	}
	return mi
}

// ParseMemTotal returns MemTotal of /proc/meminfo in bytes.
func ParseMemTotal(b []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			if len(f) >= 3 && strings.EqualFold(f[2], "kB") {
				n *= 1024
			}
			return n
		}
	}
	return 0
}

// ParseOSRelease parses KEY=value lines, unquoting values.
func ParseOSRelease(b []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `"'`)
		}
		out[k] = v
	}
	return out
}

// Capacity is the node's capacity; Allocatable subtracts upstream's default hard eviction
// thresholds (memory.available<100Mi, nodefs.available<10%).
func (mi MachineInfo) Capacity() (capacity, allocatable corev1.ResourceList) {
	capacity = corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(mi.NumCPU), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(mi.MemoryBytes, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(110, resource.DecimalSI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(mi.EphemeralStorage, resource.BinarySI),
	}
	allocatable = capacity.DeepCopy()
	allocatable[corev1.ResourceMemory] = *resource.NewQuantity(max(0, mi.MemoryBytes-100*1024*1024), resource.BinarySI)
	allocatable[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(mi.EphemeralStorage-mi.EphemeralStorage/10, resource.BinarySI)
	return capacity, allocatable
}

func (a *Agent) nodeLabels() map[string]string {
	l := map[string]string{
		corev1.LabelHostname:      a.cfg.NodeName,
		corev1.LabelOSStable:      runtime.GOOS,
		corev1.LabelArchStable:    runtime.GOARCH,
		"beta.kubernetes.io/os":   runtime.GOOS,
		"beta.kubernetes.io/arch": runtime.GOARCH,
	}
	for k, v := range a.cfg.NodeLabels {
		l[k] = v
	}
	return l
}

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
		s, reason, msg := pressureCondition(t, slices.Contains(in.Pressure, t))
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

// nodeStatus computes the agent's node status from its machine, runtime and eviction state.
func (a *Agent) nodeStatus(old *corev1.NodeStatus) corev1.NodeStatus {
	capacity, allocatable := a.machine.Capacity()
	hostname, _ := os.Hostname()
	if hostname == "" {
		hostname = a.cfg.NodeName
	}
	var addrs []corev1.NodeAddress
	if a.cfg.NodeIP != "" {
		addrs = append(addrs, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: a.cfg.NodeIP})
	}
	addrs = append(addrs, corev1.NodeAddress{Type: corev1.NodeHostName, Address: hostname})
	return NodeStatus(NodeStatusInput{
		Capacity: capacity, Allocatable: allocatable, Addresses: addrs, KubeletPort: a.cfg.KubeletPort,
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:               a.machine.MachineID,
			SystemUUID:              a.machine.MachineID,
			BootID:                  a.machine.BootID,
			KernelVersion:           a.machine.KernelVersion,
			OSImage:                 a.machine.OSImage,
			ContainerRuntimeVersion: a.runtimeVersion,
			KubeletVersion:          KubeletVersion,
			OperatingSystem:         runtime.GOOS,
			Architecture:            runtime.GOARCH,
		},
		NetworkNotReady: a.networkNotReady, Pressure: a.pressure(), Now: a.cfg.Clock.Now(),
	}, old)
}

// NodeStatusDue reports whether a node posts its next status: it changed from the last one
// posted (heartbeat times aside), there is none, or the report interval passed since
// (upstream's nodeStatusReportFrequency, 5 min; the Lease carries the heartbeat otherwise).
func NodeStatusDue(last, next *corev1.NodeStatus, sinceReport, reportInterval time.Duration) bool {
	return last == nil || statusChanged(last, next) || sinceReport >= reportInterval
}

// statusChanged compares two node statuses without heartbeat times.
func statusChanged(a, b *corev1.NodeStatus) bool {
	strip := func(s *corev1.NodeStatus) []byte {
		c := s.DeepCopy()
		for i := range c.Conditions {
			c.Conditions[i].LastHeartbeatTime = metav1.Time{}
		}
		out, _ := json.Marshal(c)
		return out
	}
	return !bytes.Equal(strip(a), strip(b))
}

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

func (a *Agent) registration() NodeRegistration {
	return NodeRegistration{Client: a.cfg.Client, Name: a.cfg.NodeName, Labels: a.nodeLabels(), Taints: a.cfg.Taints,
		PodCIDR: a.cfg.PodCIDR, Status: a.nodeStatus}
}

// registerNode creates the Node, or reconciles an existing one (labels, pod CIDR) and posts
// its status.
func (a *Agent) registerNode(ctx context.Context) error {
	st, err := a.registration().Register(ctx)
	if err != nil {
		return err
	}
	a.setLastNodeStatus(*st)
	return nil
}

func (a *Agent) setLastNodeStatus(s corev1.NodeStatus) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lastNodeStatus = s.DeepCopy()
	a.lastNodeReport = a.cfg.Clock.Now()
}

// syncNodeStatus posts the node status when it is due (NodeStatusDue).
func (a *Agent) syncNodeStatus(ctx context.Context) error {
	if a.heartbeatStopped(ctx) {
		return nil
	}
	a.mu.Lock()
	last, lastReport := a.lastNodeStatus, a.lastNodeReport
	a.mu.Unlock()
	next := a.nodeStatus(last)
	if !NodeStatusDue(last, &next, a.cfg.Clock.Since(lastReport), a.cfg.StatusReportInterval) {
		return nil
	}
	st, err := a.registration().Post(ctx)
	if err != nil {
		return err
	}
	a.setLastNodeStatus(*st)
	return nil
}

// renewLease creates or renews the node's Lease in kube-node-lease.
func (a *Agent) renewLease(ctx context.Context) error {
	if a.heartbeatStopped(ctx) {
		return nil
	}
	return a.lease.Renew(ctx, a.cfg.Client, a.cfg.NodeName, a.cfg.LeaseDuration, a.cfg.Clock.Now())
}
