package scheduler

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Result label values of the attempt metrics.
const (
	resultScheduled     = "scheduled"
	resultUnschedulable = "unschedulable"
	resultError         = "error"
)

var (
	scheduleAttempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Subsystem: "scheduler",
		Name:      "schedule_attempts_total",
		Help:      "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
	}, []string{"result", "profile"})

	attemptDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Subsystem: "scheduler",
		Name:      "scheduling_attempt_duration_seconds",
		Help:      "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
		Buckets:   prometheus.ExponentialBuckets(0.001, 2, 15),
	}, []string{"result", "profile"})

	pendingPods = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Subsystem: "scheduler",
		Name:      "pending_pods",
		Help:      "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods.",
	}, []string{"queue"})
)

func init() {
	metrics.Registry.MustRegister(scheduleAttempts, attemptDuration, pendingPods)
}
