package simulated

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/skiff-dev/skiff/nodeagent/server"
)

// The usage a simulated node reports: every running container uses SimulatedContainerCPU and
// SimulatedContainerMemory; the node itself that much more than its containers.
var (
	SimulatedContainerCPU    = resource.MustParse("5m")
	SimulatedContainerMemory = resource.MustParse("16Mi")
	SimulatedNodeCPU         = resource.MustParse("150m")
	SimulatedNodeMemory      = resource.MustParse("512Mi")
)

// ServerConfig makes a simulated node serve the node agent's API (nodeagent/server): the
// resource statistics (/stats/summary, /metrics/resource) of its simulated pods, so that the
// metrics API and kubectl top work with simulated nodes; logs and exec find no container.
type ServerConfig struct {
	// Listener is where it serves; its address and port are the Node's InternalIP and kubelet
	// endpoint.
	Listener net.Listener
	// CertPEM and KeyPEM are its serving certificate (signed by the cluster CA, for the
	// listener's IP); ClientCAs authenticate callers.
	CertPEM, KeyPEM []byte
	ClientCAs       *x509.CertPool
	// Certificate, when CertPEM is empty, obtains the serving certificate once the node is
	// registered, as the agent's (a kubelet-serving request is approved against the Node's
	// addresses, which the listener gives): `skiff agent --simulated`, which holds no CA key.
	Certificate func(ctx context.Context) (certPEM, keyPEM []byte, err error)
	// Profiling serves pprof at /debug/pprof/ (`skiff agent --simulated --profiling`): the
	// profile of the whole process, which runs every node of its pool.
	Profiling bool
}

// cumulative is the CPU a constant rate used between two times, in core-nanoseconds.
func cumulative(rate resource.Quantity, from, to time.Time) uint64 {
	d := to.Sub(from)
	if d <= 0 {
		return 0
	}
	return uint64(float64(rate.ScaledValue(resource.Nano)) * d.Seconds())
}

// SimulatedSummary is the Summary of a simulated node at now: each running container of its
// Running pods uses the simulated container usage since it started, and the node its own since
// boot plus theirs. Pods and containers keep the order given.
func SimulatedSummary(nodeName string, boot time.Time, pods []*corev1.Pod, now time.Time) *statsv1alpha1.Summary {
	// Readings are stamped in milliseconds (/metrics/resource): the counters are those of that
	// millisecond, so that rates between two of them are exact.
	now = now.Truncate(time.Millisecond)
	t := metav1.NewTime(now)
	ctrMemory := uint64(SimulatedContainerMemory.Value())
	nodeCPU, nodeMemory := cumulative(SimulatedNodeCPU, boot, now), uint64(SimulatedNodeMemory.Value())
	s := &statsv1alpha1.Summary{Pods: []statsv1alpha1.PodStats{}}
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning {
			continue
		}
		ps := statsv1alpha1.PodStats{PodRef: statsv1alpha1.PodReference{Name: p.Name, Namespace: p.Namespace, UID: string(p.UID)},
			Containers: []statsv1alpha1.ContainerStats{}}
		if p.Status.StartTime != nil {
			ps.StartTime = *p.Status.StartTime
		}
		var podCPU, podMemory uint64
		for _, c := range p.Status.ContainerStatuses {
			if c.State.Running == nil {
				continue
			}
			cpu, mem := cumulative(SimulatedContainerCPU, c.State.Running.StartedAt.Time, now), ctrMemory
			ps.Containers = append(ps.Containers, statsv1alpha1.ContainerStats{Name: c.Name, StartTime: c.State.Running.StartedAt,
				CPU: &statsv1alpha1.CPUStats{Time: t, UsageCoreNanoSeconds: &cpu}, Memory: &statsv1alpha1.MemoryStats{Time: t, WorkingSetBytes: &mem}})
			podCPU, podMemory = podCPU+cpu, podMemory+mem
		}
		ps.CPU = &statsv1alpha1.CPUStats{Time: t, UsageCoreNanoSeconds: &podCPU}
		ps.Memory = &statsv1alpha1.MemoryStats{Time: t, WorkingSetBytes: &podMemory}
		nodeCPU, nodeMemory = nodeCPU+podCPU, nodeMemory+podMemory
		s.Pods = append(s.Pods, ps)
	}
	s.Node = statsv1alpha1.NodeStats{NodeName: nodeName, StartTime: metav1.NewTime(boot),
		CPU: &statsv1alpha1.CPUStats{Time: t, UsageCoreNanoSeconds: &nodeCPU}, Memory: &statsv1alpha1.MemoryStats{Time: t, WorkingSetBytes: &nodeMemory}}
	return s
}

// Summary is the node's simulated Summary (server.SummaryProvider).
func (n *Node) Summary(context.Context) (*statsv1alpha1.Summary, error) {
	if n.started.IsZero() {
		return nil, errors.New("simulated node not started")
	}
	return SimulatedSummary(n.cfg.Name, n.started, n.pool.podsOn(n.cfg.Name), n.cfg.Clock.Now()), nil
}

// noContainers is the runtime of a simulated node's server: it has no sandbox (logs, exec and
// port-forward answer that the pod does not exist).
type noContainers struct{ internalapi.RuntimeService }

func (noContainers) ListPodSandbox(context.Context, *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	return nil, nil
}

// newServer is the node agent's server of a simulated node with the serving certificate
// certPEM and keyPEM.
func (n *Node) newServer(certPEM, keyPEM []byte) (*server.Server, error) {
	sc := n.cfg.Server
	return server.New(server.Config{Listener: sc.Listener, CertPEM: certPEM, KeyPEM: keyPEM, ClientCAs: sc.ClientCAs,
		NodeName: n.cfg.Name, Client: n.cfg.Client, Runtime: noContainers{}, Stats: n, Profiling: sc.Profiling})
}
