// Package fault is the controller of chaos.skiff.dev Faults: it checks a Fault's target, starts
// it (phase Running, startTime, condition Injected) and ends it (Succeeded, endTime) when its
// duration is over or, for PodKill, when the pods' nodes have killed the containers; a Fault it
// cannot inject is Failed with a message. The node agents carry the faults out (nodeagent/faults).
// Its reconciles are traced (controllers.Traced); the one that starts a fault names the node or
// the pods it hits as the span's effects, so that `skiff trace fault/NAME` goes on with them.
package fault
