package eviction

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"k8s.io/utils/clock"
)

// Config configures a Manager.
type Config struct {
	// Thresholds are the hard and soft thresholds (ParseThresholds).
	Thresholds []Threshold
	// TransitionPeriod is how long a pressure condition stays after it was last seen (5 minutes
	// when 0, upstream's --eviction-pressure-transition-period).
	TransitionPeriod time.Duration
	// MaxPodGracePeriod caps the grace period of pods evicted for a soft threshold, in seconds
	// (0: the pod's own); a hard threshold evicts with 1 s, as upstream.
	MaxPodGracePeriod int64
	// Interval is the period of the rounds (10 s when 0, as the kubelet's).
	Interval time.Duration
	// Summary reads the node's statistics.
	Summary func(context.Context) (*statsv1alpha1.Summary, error)
	// ActivePods are the pods the node runs that have not finished.
	ActivePods func() []*corev1.Pod
	// Evict stops a pod with the grace period (seconds) and fails it with reason Evicted and
	// the message.
	Evict func(ctx context.Context, pod *corev1.Pod, grace int64, message string) error
	// Clock (the real one when nil).
	Clock clock.WithTicker
}

// Manager runs the eviction rounds and holds the node's pressure conditions.
type Manager struct {
	cfg Config

	mu         sync.Mutex
	state      State
	conditions []corev1.NodeConditionType
}

// immediateGracePeriod is the grace of a pod evicted for a hard threshold (upstream's
// immediateEvictionGracePeriodSeconds).
const immediateGracePeriod = 1

// NewManager checks cfg.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Summary == nil || cfg.ActivePods == nil || cfg.Evict == nil {
		return nil, errors.New("eviction manager needs Summary, ActivePods and Evict")
	}
	if cfg.TransitionPeriod == 0 {
		cfg.TransitionPeriod = 5 * time.Minute
	}
	if cfg.Interval == 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Manager{cfg: cfg}, nil
}

// Start runs a round every Interval until ctx ends.
func (m *Manager) Start(ctx context.Context) error {
	log := klog.FromContext(ctx).WithName("eviction")
	t := m.cfg.Clock.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := m.Synchronize(ctx); err != nil {
			log.Error(err, "Eviction round failed")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
	}
}

// Conditions are the node's pressure conditions now.
func (m *Manager) Conditions() []corev1.NodeConditionType {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]corev1.NodeConditionType(nil), m.conditions...)
}

// Admit is the eviction admission of a new pod under the current conditions.
func (m *Manager) Admit(pod *corev1.Pod) (bool, string) {
	return Admit(pod, m.Conditions())
}

// Synchronize runs one round: observe, decide, and evict at most one pod (returned).
func (m *Manager) Synchronize(ctx context.Context) (*corev1.Pod, error) {
	log := klog.FromContext(ctx).WithName("eviction")
	summary, err := m.cfg.Summary(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the node's statistics: %w", err)
	}
	obs := Observe(summary)
	m.mu.Lock()
	d, next := Decide(m.cfg.Clock.Now(), obs, m.cfg.Thresholds, m.cfg.TransitionPeriod, m.state)
	m.state, m.conditions = next, d.Conditions
	m.mu.Unlock()
	if len(d.Evict) == 0 {
		return nil, nil
	}
	t := d.Evict[0]
	log.Info("Eviction threshold met", "signal", t.Signal, "threshold", t.Value(), "available", obs[t.Signal].Available)
	pods := Usage(summary, m.cfg.ActivePods())
	Rank(t.Signal, pods)
	for _, u := range pods {
		if Critical(u.Pod) {
			continue
		}
		grace := int64(immediateGracePeriod)
		if !t.Hard() {
			grace = 30
			if g := u.Pod.Spec.TerminationGracePeriodSeconds; g != nil {
				grace = *g
			}
			if m.cfg.MaxPodGracePeriod > 0 {
				grace = min(grace, m.cfg.MaxPodGracePeriod)
			}
		}
		msg := Message(t, obs, u)
		log.Info("Evicting pod", "pod", klog.KObj(u.Pod), "signal", t.Signal, "grace", grace)
		if err := m.cfg.Evict(ctx, u.Pod, grace, msg); err != nil {
			return nil, fmt.Errorf("evicting pod %s/%s: %w", u.Pod.Namespace, u.Pod.Name, err)
		}
		return u.Pod, nil
	}
	return nil, nil
}
