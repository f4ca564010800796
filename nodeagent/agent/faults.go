package agent

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/nodeagent/faults"
)

// heartbeatStopped reports whether a NodeHeartbeat fault stops the node's Lease renewals and
// status updates now; when one has just ended, the next status sync posts at once (the node
// lifecycle controller marked the node Unknown meanwhile).
func (a *Agent) heartbeatStopped(ctx context.Context) bool {
	stopped, resumed := a.heartbeat.Check(ctx)
	if resumed {
		a.lastNodeStatus.Forget()
	}
	return stopped
}

// runFaults runs the fault watcher and the pod killer of PodKill faults when the agent has one.
func (a *Agent) runFaults(ctx context.Context, run func(func())) {
	if a.cfg.Faults == nil {
		return
	}
	run(func() { _ = a.cfg.Faults.Start(ctx) })
	killer := &faults.PodKiller{Watcher: a.cfg.Faults, Node: a.cfg.NodeName, Runtime: a.runtime,
		Tracer: a.tracer, Component: trace.Agent(a.cfg.NodeName),
		Event: func(ref *corev1.ObjectReference, eventType, reason, message string) {
			a.recorder.Event(ref, eventType, reason, message)
		}}
	run(func() { _ = killer.Start(ctx) })
}
