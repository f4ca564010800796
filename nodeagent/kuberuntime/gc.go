package kuberuntime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/nodeagent/logs"
	"github.com/skiff-dev/skiff/nodeagent/status"
)

// KeepAttempts is how many attempts of each container name the container GC keeps: the
// current one and the one before, which the pod's lastState and `kubectl logs --previous`
// show (upstream keeps MaxPerPodContainer 1 dead container beside the running one and takes
// lastState from its status cache; Skiff reads it from the runtime).
const KeepAttempts = 2

// GCContainer is what the container GC knows of one container.
type GCContainer struct {
	ID, SandboxID, PodUID, Name string
	CreatedAt                   time.Time
	State                       runtimeapi.ContainerState
}

// GCSandbox is what the container GC knows of one sandbox.
type GCSandbox struct {
	ID, PodUID string
	CreatedAt  time.Time
	Ready      bool
}

// GCPlan is what one container GC removes: containers, sandboxes (StopPodSandbox first, as
// upstream guards) and pod log directories (names under the pod logs root).
type GCPlan struct {
	Containers, Sandboxes, LogDirs []string
}

// PlanGC is upstream's container GC (kuberuntime_gc.go) with Skiff's KeepAttempts and no
// minimum age (upstream's default MinAge 0) or total limit (MaxContainers -1):
//   - containers: of a pod that exists, the exited attempts of each name older than the
//     KeepAttempts newest; of a pod that no longer exists, every exited container;
//   - sandboxes: the inactive ones (not ready and without containers left) of pods that no
//     longer exist, and of those that do all but the newest;
//   - log directories (<namespace>_<name>_<uid>) of pods that no longer exist and have no
//     container or sandbox left.
//
// Running, created and unknown containers are never removed here (the pod workers stop them),
// nor containers and sandboxes without a pod UID label.
func PlanGC(ctrs []GCContainer, sbs []GCSandbox, logDirs []string, exists func(uid string) bool) GCPlan {
	var p GCPlan
	byUnit := map[[2]string][]GCContainer{}
	for _, c := range ctrs {
		if c.PodUID == "" {
			continue // not a pod's: not Skiff's to collect
		}
		k := [2]string{c.PodUID, c.Name}
		byUnit[k] = append(byUnit[k], c)
	}
	removed := map[string]bool{}
	for k, unit := range byUnit {
		sort.SliceStable(unit, func(i, j int) bool { return unit[i].CreatedAt.After(unit[j].CreatedAt) })
		keep := KeepAttempts
		if !exists(k[0]) {
			keep = 0
		}
		for i, c := range unit {
			if i >= keep && c.State == runtimeapi.ContainerState_CONTAINER_EXITED {
				p.Containers = append(p.Containers, c.ID)
				removed[c.ID] = true
			}
		}
	}
	sort.Strings(p.Containers)
	left := map[string]bool{}    // sandboxes with containers left
	podLeft := map[string]bool{} // pods with containers or sandboxes left
	for _, c := range ctrs {
		if !removed[c.ID] {
			left[c.SandboxID] = true
			podLeft[c.PodUID] = true
		}
	}
	byPod := map[string][]GCSandbox{}
	for _, sb := range sbs {
		if sb.PodUID != "" {
			byPod[sb.PodUID] = append(byPod[sb.PodUID], sb)
		}
	}
	for uid, pod := range byPod {
		sort.SliceStable(pod, func(i, j int) bool { return pod[i].CreatedAt.After(pod[j].CreatedAt) })
		for i, sb := range pod {
			if i == 0 && exists(uid) || sb.Ready || left[sb.ID] {
				podLeft[uid] = true
				continue
			}
			p.Sandboxes = append(p.Sandboxes, sb.ID)
		}
	}
	sort.Strings(p.Sandboxes)
	for _, d := range logDirs {
		uid := podUIDFromLogsDirectory(d)
		if uid != "" && !exists(uid) && !podLeft[uid] {
			p.LogDirs = append(p.LogDirs, d)
		}
	}
	return p
}

// podUIDFromLogsDirectory is upstream's parsePodUIDFromLogsDirectory: the part of
// <namespace>_<name>_<uid> after its last underscore.
func podUIDFromLogsDirectory(name string) string {
	i := strings.LastIndex(name, "_")
	if i < 0 {
		return ""
	}
	return name[i+1:]
}

// GarbageCollect is one container GC over the whole runtime (the agent runs it every minute,
// upstream's ContainerGCPeriod): PlanGC carried out, exists telling which pods the agent still
// has (in the API or being terminated). Removed containers take their log files with them.
func (m *Manager) GarbageCollect(ctx context.Context, exists func(uid string) bool) error {
	ctrs, err := m.cfg.Runtime.ListContainers(ctx, nil)
	if err != nil {
		return fmt.Errorf("listing containers: %w", err)
	}
	sbs, err := m.cfg.Runtime.ListPodSandbox(ctx, nil)
	if err != nil {
		return fmt.Errorf("listing sandboxes: %w", err)
	}
	var gcs []GCContainer
	for _, c := range ctrs {
		gcs = append(gcs, GCContainer{ID: c.GetId(), SandboxID: c.GetPodSandboxId(), PodUID: c.GetLabels()[PodUIDLabel],
			Name: c.GetMetadata().GetName(), CreatedAt: time.Unix(0, c.GetCreatedAt()), State: c.GetState()})
	}
	var gsb []GCSandbox
	for _, sb := range sbs {
		gsb = append(gsb, GCSandbox{ID: sb.GetId(), PodUID: sb.GetMetadata().GetUid(), CreatedAt: time.Unix(0, sb.GetCreatedAt()),
			Ready: sb.GetState() == runtimeapi.PodSandboxState_SANDBOX_READY})
	}
	var dirs []string
	if entries, err := os.ReadDir(m.cfg.PodLogsDir); err == nil {
		for _, e := range entries {
			if e.IsDir() {
				dirs = append(dirs, e.Name())
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("failed to read podLogsDirectory %q: %w", m.cfg.PodLogsDir, err)
	}
	p := PlanGC(gcs, gsb, dirs, exists)
	log := klog.FromContext(ctx)
	var errs []error
	for _, id := range p.Containers {
		if err := m.removeContainer(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	for _, id := range p.Sandboxes {
		log.V(4).Info("Removing sandbox", "sandboxID", id)
		if err := m.cfg.Runtime.StopPodSandbox(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("stopping sandbox %s before removing it: %w", id, err))
			continue
		}
		if err := m.cfg.Runtime.RemovePodSandbox(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("removing sandbox %s: %w", id, err))
		}
	}
	for _, d := range p.LogDirs {
		log.V(4).Info("Removing pod logs", "podUID", podUIDFromLogsDirectory(d))
		if err := os.RemoveAll(filepath.Join(m.cfg.PodLogsDir, d)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeContainer removes a container and its log files, as upstream's removeContainer.
func (m *Manager) removeContainer(ctx context.Context, id string) error {
	var logPath string
	if st, err := m.cfg.Runtime.ContainerStatus(ctx, id, false); err == nil && filepath.IsAbs(st.GetStatus().GetLogPath()) {
		logPath = st.GetStatus().GetLogPath()
	}
	if err := m.cfg.Runtime.RemoveContainer(ctx, id); err != nil {
		return fmt.Errorf("removing container %s: %w", id, err)
	}
	if err := logs.RemoveLogFiles(logPath); err != nil {
		return fmt.Errorf("removing the logs of container %s: %w", id, err)
	}
	return nil
}

// gcDeadContainers is the container GC of one pod after its containers started (PlanGC's
// containers for a pod that exists).
func (m *Manager) gcDeadContainers(ctx context.Context, rt *status.Runtime) {
	var ctrs []GCContainer
	for _, c := range rt.Containers {
		st := runtimeapi.ContainerState_CONTAINER_UNKNOWN
		switch c.State {
		case status.ContainerStateExited:
			st = runtimeapi.ContainerState_CONTAINER_EXITED
		case status.ContainerStateRunning:
			st = runtimeapi.ContainerState_CONTAINER_RUNNING
		}
		ctrs = append(ctrs, GCContainer{ID: c.ID, PodUID: "this pod", Name: c.Name, CreatedAt: c.CreatedAt, State: st})
	}
	for _, id := range PlanGC(ctrs, nil, nil, func(string) bool { return true }).Containers {
		if err := m.removeContainer(ctx, id); err != nil {
			klog.FromContext(ctx).V(2).Info("Removing a dead container failed", "containerID", id, "err", err)
		}
	}
}
