package scheddiag

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Diagnosis is one failed scheduling attempt of a pod.
type Diagnosis struct {
	// PodUID, Namespace and Name identify the pod.
	PodUID    types.UID `json:"podUID"`
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	// Time is when the attempt ran.
	Time time.Time `json:"time"`
	// Message is upstream's FitError message the pod's PodScheduled condition got
	// ("0/3 nodes are available: ...").
	Message string `json:"message"`
	// PreFilter, when set, rejected the pod for every node at once (a claim not found, ...).
	PreFilter string `json:"preFilter,omitempty"`
	// Nodes are every node's result, in the scheduler's order.
	Nodes []NodeDiagnosis `json:"nodes"`
	// NominatedNode is the node preemption chose, if any.
	NominatedNode string `json:"nominatedNode,omitempty"`
}

// NodeDiagnosis is one node's filter result.
type NodeDiagnosis struct {
	Node string `json:"node"`
	// Filter is the plugin that rejected the pod (upstream's names: NodeUnschedulable,
	// TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit, VolumeBinding,
	// PodTopologySpread, InterPodAffinity); empty when the pod fits.
	Filter string `json:"filter,omitempty"`
	// Reasons are upstream's reasons ("Insufficient cpu", ...).
	Reasons []string `json:"reasons,omitempty"`
	// Resources are the numbers of NodeResourcesFit for each resource the pod requests (and
	// pods): what the pod asks, what the node allocates, what its pods already requested.
	Resources []Resource `json:"resources,omitempty"`
	// Taint is the first untolerated taint ("key=value:Effect"), with TaintToleration.
	Taint string `json:"taint,omitempty"`
	// NodeSelector is the pod's nodeSelector and required node affinity, with NodeAffinity;
	// NodeLabels the node's labels then.
	NodeSelector string            `json:"nodeSelector,omitempty"`
	NodeLabels   map[string]string `json:"nodeLabels,omitempty"`
	// Ports are the pod's host ports already taken on the node, with NodePorts.
	Ports []string `json:"ports,omitempty"`
	// PreemptionMayHelp is false for upstream's UnschedulableAndUnresolvable.
	PreemptionMayHelp bool `json:"preemptionMayHelp"`
}

// Resource is a resource's numbers on a node, in its base unit (millicores for cpu, bytes for
// memory and ephemeral-storage, a count for pods and extended resources).
type Resource struct {
	Name        string `json:"name"`
	Requested   int64  `json:"requested"`
	Allocatable int64  `json:"allocatable"`
	Used        int64  `json:"used"`
	// Insufficient is set when Requested > Allocatable - Used.
	Insufficient bool `json:"insufficient,omitempty"`
}

// Free is what is left on the node.
func (r Resource) Free() int64 { return r.Allocatable - r.Used }

// Recorder is the scheduler's side.
type Recorder interface {
	Record(d Diagnosis)
	Forget(uid types.UID)
}

// Source is the API server's side.
type Source interface {
	Diagnosis(uid types.UID) (Diagnosis, bool)
}

// DefaultSize is how many pods' diagnoses a Store keeps.
const DefaultSize = 4096

// Store keeps the last diagnosis of up to its size pods, forgetting the oldest first.
type Store struct {
	mu    sync.Mutex
	size  int
	byUID map[types.UID]Diagnosis
	// order is the UIDs in recording order (a UID recorded again moves to the end lazily:
	// seq tells which entry is current).
	order []entry
	seq   map[types.UID]uint64
	next  uint64
}

type entry struct {
	uid types.UID
	seq uint64
}

// NewStore returns a Store for size pods (DefaultSize when size <= 0).
func NewStore(size int) *Store {
	if size <= 0 {
		size = DefaultSize
	}
	return &Store{size: size, byUID: map[types.UID]Diagnosis{}, seq: map[types.UID]uint64{}}
}

// Record keeps d as the pod's last diagnosis.
func (s *Store) Record(d Diagnosis) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	s.byUID[d.PodUID] = d
	s.seq[d.PodUID] = s.next
	s.order = append(s.order, entry{d.PodUID, s.next})
	for len(s.byUID) > s.size {
		e := s.order[0]
		s.order = s.order[1:]
		if s.seq[e.uid] == e.seq {
			delete(s.byUID, e.uid)
			delete(s.seq, e.uid)
		}
	}
	// Stale entries of pods recorded again or forgotten: compact once they dominate.
	if len(s.order) > 2*s.size {
		kept := make([]entry, 0, len(s.byUID))
		for _, e := range s.order {
			if s.seq[e.uid] == e.seq {
				kept = append(kept, e)
			}
		}
		s.order = kept
	}
}

// Forget drops the pod's diagnosis (it was scheduled or deleted).
func (s *Store) Forget(uid types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byUID, uid)
	delete(s.seq, uid)
}

// Diagnosis returns the pod's last diagnosis.
func (s *Store) Diagnosis(uid types.UID) (Diagnosis, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byUID[uid]
	return d, ok
}

// Len is how many pods have a diagnosis.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byUID)
}
