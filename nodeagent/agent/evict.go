package agent

import (
	"context"
	"errors"
	"os"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/skiff-dev/skiff/nodeagent/eviction"
	"github.com/skiff-dev/skiff/nodeagent/stats"
)

// ReasonEvicted is the reason of a pod failed by node-pressure eviction, and of a pod refused
// under pressure, as the kubelet's.
const ReasonEvicted = "Evicted"

// newStats is the node's statistics provider: the host (cfg.HostStats, else this machine's
// /proc and cgroup root), the runtime's pods, containers and image file system, the agent's
// data directory, pod directories and logs.
func (a *Agent) newStats() (*stats.Provider, error) {
	host := a.cfg.HostStats
	if host == nil {
		host = stats.FSHost{FS: os.DirFS("/")}
	}
	return stats.NewProvider(stats.Config{NodeName: a.cfg.NodeName, Runtime: a.cfg.RuntimeService, Images: a.cfg.ImageService,
		Host: host, RootDir: a.cfg.DataDir, PodDir: a.PodDir, PodLogDir: a.PodLogDir})
}

// Stats is the node's statistics provider (/stats/summary and /metrics/resource serve it).
func (a *Agent) Stats() *stats.Provider { return a.stats }

// newEviction is the node-pressure eviction manager, nil without thresholds.
func (a *Agent) newEviction() (*eviction.Manager, error) {
	if len(a.cfg.EvictionThresholds) == 0 {
		return nil, nil
	}
	return eviction.NewManager(eviction.Config{Thresholds: a.cfg.EvictionThresholds, TransitionPeriod: a.cfg.EvictionPressureTransitionPeriod,
		MaxPodGracePeriod: a.cfg.EvictionMaxPodGracePeriod, Interval: a.cfg.EvictionInterval, Clock: a.cfg.Clock,
		Summary:    func(ctx context.Context) (*statsv1alpha1.Summary, error) { return a.stats.Summary(ctx) },
		ActivePods: a.activePods, Evict: a.evictPod})
}

// pressure is the node's pressure conditions now (none without an eviction manager).
func (a *Agent) pressure() []corev1.NodeConditionType {
	if a.eviction == nil {
		return nil
	}
	return a.eviction.Conditions()
}

// activePods are the pods the workers run that have not finished.
func (a *Agent) activePods() []*corev1.Pod {
	var out []*corev1.Pod
	for _, uid := range a.workers.Known() {
		if a.workers.IsTerminated(uid) {
			continue
		}
		if p := a.podByUID(uid); p != nil && !isTerminalAPI(p) && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// evictPod stops a pod for node pressure, as the kubelet's killPodNow with its status
// function: an Evicted event, the containers stopped with the grace period, and the final
// status Failed, reason Evicted, the message, and a DisruptionTarget condition.
func (a *Agent) evictPod(_ context.Context, pod *corev1.Pod, grace int64, message string) error {
	if pod == nil {
		return errors.New("no pod")
	}
	a.mu.Lock()
	if a.evicted == nil {
		a.evicted = map[types.UID]string{}
	}
	a.evicted[pod.UID] = message
	a.mu.Unlock()
	a.podEvent(pod, corev1.EventTypeWarning, ReasonEvicted, message)
	a.workers.KillPod(pod, &grace)
	return nil
}

// evictedStatus turns the final status of an evicted pod into upstream's: Failed, Evicted, the
// message, and DisruptionTarget (TerminationByKubelet).
func (a *Agent) evictedStatus(uid types.UID, st *corev1.PodStatus) {
	a.mu.Lock()
	msg, ok := a.evicted[uid]
	a.mu.Unlock()
	if !ok {
		return
	}
	st.Phase, st.Reason, st.Message = corev1.PodFailed, ReasonEvicted, msg
	for _, c := range st.Conditions {
		if c.Type == corev1.DisruptionTarget {
			return
		}
	}
	st.Conditions = append(st.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: corev1.PodReasonTerminationByKubelet, Message: msg, LastTransitionTime: metav1.NewTime(a.cfg.Clock.Now())})
}
