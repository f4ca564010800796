package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.opentelemetry.io/otel/attribute"
	oteltrace "go.opentelemetry.io/otel/trace"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/nodeagent/allocation"
	"github.com/skiff-dev/skiff/nodeagent/apistatus"
	"github.com/skiff-dev/skiff/nodeagent/kuberuntime"
	"github.com/skiff-dev/skiff/nodeagent/probes"
	"github.com/skiff-dev/skiff/nodeagent/staticpods"
	"github.com/skiff-dev/skiff/nodeagent/status"
	"github.com/skiff-dev/skiff/nodeagent/volumes"
)

// errBackingOff makes the pod worker retry a pod whose containers wait in a back-off.
var errBackingOff = errors.New("containers waiting to start")

func (a *Agent) hostIPs() []string {
	if a.cfg.NodeIP == "" {
		return nil
	}
	return []string{a.cfg.NodeIP}
}

func (a *Agent) dnsConfig(pod *corev1.Pod) *runtimeapi.DNSConfig {
	return PodDNSConfig(pod, DNSInput{ClusterDNS: a.cfg.ClusterDNS, ClusterDomain: a.cfg.ClusterDomain, HostResolvConf: a.hostResolvConf})
}

// apiSources reads ConfigMaps, Secrets and Services from the API.
type apiSources struct {
	ctx context.Context
	a   *Agent
}

func (s apiSources) ConfigMap(ns, name string) (*corev1.ConfigMap, error) {
	return volumes.GetConfigMap(s.ctx, s.a.cfg.Client, ns, name)
}

func (s apiSources) Secret(ns, name string) (*corev1.Secret, error) {
	return volumes.GetSecret(s.ctx, s.a.cfg.Client, ns, name)
}

func (s apiSources) Services(pod *corev1.Pod) ([]*corev1.Service, error) {
	var out []*corev1.Service
	if pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks {
		l, err := s.a.cfg.Client.CoreV1().Services(pod.Namespace).List(s.ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			if pod.Namespace == metav1.NamespaceDefault && l.Items[i].Name == "kubernetes" {
				continue
			}
			out = append(out, &l.Items[i])
		}
	}
	if k, err := s.a.cfg.Client.CoreV1().Services(metav1.NamespaceDefault).Get(s.ctx, "kubernetes", metav1.GetOptions{}); err == nil {
		out = append(out, k)
	}
	return out, nil
}

// containerOptions resolves a container's environment and mounts for kuberuntime.
func (a *Agent) containerOptions(ctx context.Context, pod *corev1.Pod, c *corev1.Container) (*kuberuntime.ContainerOptions, error) {
	in := EnvInput{HostIPs: a.hostIPs()}
	_, in.NodeAllocatable = a.machine.Capacity()
	if rt, err := a.kr.PodRuntime(ctx, string(pod.UID)); err == nil && len(rt.Sandboxes) > 0 && rt.Sandboxes[0].Ready {
		in.PodIPs = rt.Sandboxes[0].IPs
	}
	if pod.Spec.HostNetwork && len(in.PodIPs) == 0 {
		in.PodIPs = in.HostIPs
	}
	envs, err := MakeEnvironment(pod, c, in, apiSources{ctx: ctx, a: a})
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	vols := a.podVolumes[pod.UID]
	a.mu.Unlock()
	expanded, err := ExpandSubPaths(c, envs)
	if err != nil {
		return nil, err
	}
	mounts, err := volumes.Mounts(expanded, vols)
	if err != nil {
		return nil, err
	}
	if c.TerminationMessagePath != "" {
		// upstream: a fresh file per attempt, pods/<uid>/containers/<name>/<random>, world
		// writable so any user of the container can write it.
		dir := filepath.Join(a.vols.PodDir(string(pod.UID)), "containers", c.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		f, err := os.CreateTemp(dir, "")
		if err != nil {
			return nil, err
		}
		_ = f.Close()
		if err := os.Chmod(f.Name(), 0o666); err != nil {
			return nil, err
		}
		mounts = append(mounts, &runtimeapi.Mount{ContainerPath: c.TerminationMessagePath, HostPath: f.Name()})
	}
	if mountsEtcHosts(pod, c, in.PodIPs) {
		p := filepath.Join(a.vols.PodDir(string(pod.UID)), "etc-hosts")
		if err := os.WriteFile(p, HostsFile(pod, in.PodIPs, a.cfg.ClusterDomain), 0o644); err != nil {
			return nil, err
		}
		mounts = append(mounts, &runtimeapi.Mount{ContainerPath: "/etc/hosts", HostPath: p})
	}
	return &kuberuntime.ContainerOptions{Envs: envs, Mounts: mounts}, nil
}

// probeMaps gives status.Generate the probe results of the containers' current attempts. A
// container with no result yet keeps the readiness (and started) the old status gave the same
// container ID, so an agent restart does not flap Ready.
func (a *Agent) probeMaps(pod *corev1.Pod, old *corev1.PodStatus, rt *status.Runtime) (readiness, startup map[string]bool) {
	prev := func(name, id string) *corev1.ContainerStatus {
		for _, list := range [][]corev1.ContainerStatus{old.ContainerStatuses, old.InitContainerStatuses} {
			for i := range list {
				if cs := &list[i]; cs.Name == name && cs.ContainerID == rt.RuntimeName+"://"+id {
					return cs
				}
			}
		}
		return nil
	}
	readiness, startup = map[string]bool{}, map[string]bool{}
	for _, c := range probes.ProbedContainers(pod) {
		l := rt.Latest(c.Name)
		if l == nil {
			continue
		}
		if c.ReadinessProbe != nil {
			if r := a.probes.Result(l.ID, probes.Readiness); r != probes.Unknown {
				readiness[c.Name] = r == probes.Success
			} else if p := prev(c.Name, l.ID); p != nil && p.Ready {
				readiness[c.Name] = true
			}
		}
		if c.StartupProbe != nil {
			if r := a.probes.Result(l.ID, probes.Startup); r != probes.Unknown {
				startup[c.Name] = r == probes.Success
			} else if p := prev(c.Name, l.ID); p != nil && p.Started != nil && *p.Started {
				startup[c.Name] = true
			}
		}
	}
	return readiness, startup
}

// oldStatus is the status the last write left (the informer may lag behind it).
func (a *Agent) oldStatus(pod *corev1.Pod) *corev1.Pod {
	a.mu.Lock()
	last, ok := a.lastStatus[pod.UID]
	a.mu.Unlock()
	if !ok {
		return pod
	}
	p := pod.DeepCopy()
	p.Status = *last.DeepCopy()
	// Conditions written by others (DisruptionTarget, readiness gates) come from the API.
	conds := p.Status.Conditions[:0]
	for _, c := range p.Status.Conditions {
		if status.KubeletOwned(c.Type) {
			conds = append(conds, c)
		}
	}
	for _, c := range pod.Status.Conditions {
		if !status.KubeletOwned(c.Type) {
			conds = append(conds, c)
		}
	}
	p.Status.Conditions = conds
	return p
}

func (a *Agent) generate(ctx context.Context, pod *corev1.Pod, failures map[string]status.Waiting, terminal bool) (corev1.PodStatus, *status.Runtime, error) {
	rt, err := a.kr.PodRuntime(ctx, string(pod.UID))
	if err != nil {
		return corev1.PodStatus{}, nil, err
	}
	old := a.oldStatus(pod)
	readiness, startup := a.probeMaps(pod, &old.Status, rt)
	in := status.Input{Pod: old, Runtime: rt, StartFailures: failures, Readiness: readiness, Startup: startup,
		HostIPs: a.hostIPs(), PodIsTerminal: terminal, Now: a.cfg.Clock.Now()}
	if alloc, ok := a.allocState(pod.UID); ok {
		// the status shows the pod as the node allocated it (allocatedResources, resources).
		in.Pod, _ = allocation.UpdatePodFromAllocation(old, alloc.Allocated)
		in.Actuated = alloc.Actuated
		in.ResizeConditions = allocation.Conditions(alloc, terminal)
	}
	st := status.Generate(in)
	status.ApplyActiveDeadline(pod, &st, a.cfg.Clock.Now())
	a.evictedStatus(pod.UID, &st)
	status.ObserveGeneration(&st, pod.Generation)
	return st, rt, nil
}

// syncPod is the pod worker's sync: volumes, runtime, probes, status. A pod past its active
// deadline gets its Failed status and goes down the termination path (upstream's SyncPod with
// a terminal generated status).
func (a *Agent) syncPod(ctx context.Context, pod *corev1.Pod) (bool, error) {
	start := a.cfg.Clock.Now()
	// A span for the sync, kept when it did work (runtime calls, a status write).
	ctx, work := trace.WithWork(ctx)
	ctx, span := a.tracer.Start(ctx, "sync Pod", oteltrace.WithAttributes(trace.Component(trace.Agent(a.cfg.NodeName))))
	if span.IsRecording() {
		span.SetAttributes(trace.Object("Pod", pod)...)
		defer func() {
			if work.Load() == 0 {
				span.SetAttributes(trace.Discard)
			}
			span.End()
		}()
	}
	defer func() { a.metrics.PodSyncDuration.Observe(a.cfg.Clock.Since(start).Seconds()) }()
	if a.deadlineExceeded(pod) {
		st, _, err := a.generate(ctx, pod, nil, false)
		if err != nil {
			return false, err
		}
		if err := a.writeStatus(ctx, pod, st); err != nil {
			return false, err
		}
		return true, nil
	}
	vols, err := a.vols.SetUp(ctx, pod)
	if err != nil {
		a.podEvent(pod, corev1.EventTypeWarning, "FailedMount", err.Error())
		if st, _, gerr := a.generate(ctx, pod, nil, false); gerr == nil {
			_ = a.writeStatus(ctx, pod, st)
		}
		return false, err
	}
	a.mu.Lock()
	a.podVolumes[pod.UID] = vols
	a.mu.Unlock()
	for _, d := range []string{kuberuntime.BuildPodLogsDirectory(a.cfg.PodLogsDir, pod), a.vols.PodDir(string(pod.UID))} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return false, err
		}
	}
	a.probes.AddPod(pod)
	// A resize is allocated (or left pending) before the status of the new generation is written,
	// so that status shows PodResizeInProgress or PodResizePending, as the kubelet's.
	allocated, alloc, err := a.allocate(pod)
	if err != nil {
		return false, err
	}
	if err := a.observeGeneration(ctx, pod); err != nil {
		return false, err
	}
	ensure := a.ensurePodCgroup
	if alloc.InProgress != nil {
		ensure = a.growPodCgroup // containers first, then the pod's exact values (settleResize)
	}
	if err := ensure(allocated); err != nil {
		return false, err
	}

	res := a.kr.SyncPod(ctx, allocated)
	a.settleResize(ctx, pod, allocated, res)
	act := res.Actions
	if act.CreateSandbox || len(act.InitContainersToStart) > 0 || len(act.ContainersToStart) > 0 {
		a.mu.Lock()
		if !a.startObserved[pod.UID] {
			a.startedHere[pod.UID] = true
		}
		a.mu.Unlock()
	}
	st, _, err := a.generate(ctx, pod, res.StartFailures, false)
	if err != nil {
		return false, err
	}
	a.probes.UpdatePodStatus(pod.UID, &st)
	a.observeStart(pod, &st)
	if err := a.writeStatus(ctx, pod, st); err != nil {
		return false, err
	}
	if res.Err != nil {
		return false, res.Err
	}
	if len(res.StartFailures) > 0 {
		return false, errBackingOff
	}
	return st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed, nil
}

// observeGeneration writes the status with the pod's new generation before the runtime acts on
// the spec change, as the kubelet writes the status it generates before its runtime sync: an
// image to pull or a container to restart does not hold status.observedGeneration back. A pod
// without a status written by this agent yet gets its first one after the runtime sync.
func (a *Agent) observeGeneration(ctx context.Context, pod *corev1.Pod) error {
	a.mu.Lock()
	last, written := a.lastStatus[pod.UID]
	a.mu.Unlock()
	if !written || status.GenerationObserved(&last, pod.Generation) {
		return nil
	}
	st, _, err := a.generate(ctx, pod, nil, false)
	if err != nil {
		return err
	}
	return a.writeStatus(ctx, pod, st)
}

// observeStart records the pod start latency once all containers run (pods this agent
// started only).
func (a *Agent) observeStart(pod *corev1.Pod, st *corev1.PodStatus) {
	if len(st.ContainerStatuses) == 0 {
		return
	}
	for _, cs := range st.ContainerStatuses {
		if cs.State.Running == nil {
			return
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.startObserved[pod.UID] {
		return
	}
	a.startObserved[pod.UID] = true
	if !a.startedHere[pod.UID] {
		return
	}
	d := a.cfg.Clock.Since(pod.CreationTimestamp.Time)
	a.startLatency[pod.UID] = d
	a.metrics.PodStartDuration.Observe(d.Seconds())
	klog.V(2).InfoS("Pod started", "pod", klog.KObj(pod), "latency", d)
}

// terminatePod stops the pod's containers with the grace period, writes the final status, and
// for a deleted pod removes its containers, sandboxes and volumes and then the API object
// (grace 0, UID precondition) as the kubelet's status manager does.
func (a *Agent) terminatePod(ctx context.Context, pod *corev1.Pod, grace *int64) (err error) {
	// A span for the termination: the runtime's stop calls, the final status, the delete.
	ctx, span := a.tracer.Start(ctx, "terminate Pod", oteltrace.WithAttributes(trace.Component(trace.Agent(a.cfg.NodeName))))
	if span.IsRecording() {
		span.SetAttributes(trace.Object("Pod", pod)...)
		if grace != nil {
			span.SetAttributes(attribute.Int64("skiff.grace_period_seconds", *grace))
		}
		defer func() {
			if err != nil {
				span.RecordError(err)
			}
			span.End()
		}()
	}
	a.probes.RemovePod(pod.UID)
	if err := a.kr.KillPod(ctx, pod, grace); err != nil {
		return err
	}
	if err := a.removePodCgroup(pod.UID); err != nil {
		klog.FromContext(ctx).V(2).Info("Pod cgroup kept until its containers are removed", "pod", klog.KObj(pod), "err", err)
	}
	cached := a.podByUID(pod.UID)
	if cached != nil {
		pod = cached
	}
	st, _, err := a.generate(ctx, pod, nil, true)
	if err != nil {
		return err
	}
	if cached != nil {
		if err := a.writeStatus(ctx, pod, st); err != nil {
			return err
		}
	}
	if cached != nil && pod.DeletionTimestamp == nil {
		return nil // finished pod: containers stay (their logs) until the pod is deleted
	}
	if err := a.kr.RemovePod(ctx, string(pod.UID)); err != nil {
		return err
	}
	if err := a.removePodCgroup(pod.UID); err != nil {
		return err
	}
	if err := a.vols.CleanUp(string(pod.UID)); err != nil {
		return err
	}
	// upstream removes the logs of a deleted pod with its containers.
	if err := os.RemoveAll(kuberuntime.BuildPodLogsDirectory(a.cfg.PodLogsDir, pod)); err != nil {
		return err
	}
	if cached != nil {
		err := a.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: &pod.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting pod: %w", err)
		}
	}
	a.forget(pod.UID)
	return nil
}

func statusJSON(s *corev1.PodStatus) []byte {
	b, _ := json.Marshal(s)
	return b
}

// writeStatus writes pods/status when the status differs from what the API (or the last
// write) has.
func (a *Agent) writeStatus(ctx context.Context, pod *corev1.Pod, st corev1.PodStatus) error {
	if staticpods.IsStatic(pod) {
		return a.writeMirrorStatus(ctx, pod, st)
	}
	a.mu.Lock()
	last, ok := a.lastStatus[pod.UID]
	base := a.statusBase[pod.UID] // the resourceVersion of the pod the last write replaced
	a.mu.Unlock()
	nb := string(statusJSON(&st))
	// Written before and the pod is the one that write replaced (the informer lags): done. A
	// pod changed since by others (the node lifecycle controller marking it not ready while
	// the node was unreachable) gets the status again, as the kubelet's status manager does.
	if nb == string(statusJSON(&pod.Status)) || ok && nb == string(statusJSON(&last)) && pod.ResourceVersion == base {
		return nil
	}
	pods := a.cfg.Client.CoreV1().Pods(pod.Namespace)
	a.metrics.StatusUpdates.Inc()
	p := pod.DeepCopy()
	p.Status = st
	trace.Worked(ctx)
	ctx, span := a.tracer.Start(ctx, "write status", oteltrace.WithAttributes(trace.Component(trace.Agent(a.cfg.NodeName))))
	defer span.End()
	if span.IsRecording() {
		span.SetAttributes(trace.Object("Pod", pod)...)
	}
	base, written, err := apistatus.PutPodStatus(ctx, pods, p)
	if err != nil || !written {
		return err
	}
	a.mu.Lock()
	a.lastStatus[pod.UID] = st
	if a.statusBase == nil {
		a.statusBase = map[types.UID]string{}
	}
	a.statusBase[pod.UID] = base
	a.mu.Unlock()
	return nil
}
