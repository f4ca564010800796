package faults

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	oteltrace "go.opentelemetry.io/otel/trace"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/klog/v2"

	chaosv1alpha1 "github.com/skiff-dev/skiff/apis/chaos/v1alpha1"
	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/nodeagent/kuberuntime"
)

// Images wraps a CRI image service so that pulls fail while an ImagePull fault targets node.
type Images struct {
	cri.ImageManagerService
	Watcher *Watcher
	Node    string
}

// PullImage fails with the fault's error while one is in effect, and pulls otherwise.
func (i *Images) PullImage(ctx context.Context, image *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig, sb *runtimeapi.PodSandboxConfig) (string, error) {
	if err := i.Watcher.PullError(i.Node, image.GetImage()); err != nil {
		return "", err
	}
	return i.ImageManagerService.PullImage(ctx, image, auth, sb)
}

// KillContainers kills (SIGKILL, no grace period) the running containers of a pod through CRI,
// only those named in names when names is not empty, and returns the names killed, sorted.
func KillContainers(ctx context.Context, rt cri.RuntimeService, podUID types.UID, names []string) ([]string, error) {
	cs, err := rt.ListContainers(ctx, &runtimeapi.ContainerFilter{
		State:         &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
		LabelSelector: map[string]string{kuberuntime.PodUIDLabel: string(podUID)},
	})
	if err != nil {
		return nil, fmt.Errorf("listing containers of pod %s: %w", podUID, err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var killed []string
	for _, c := range cs {
		name := c.Labels[kuberuntime.ContainerNameLabel]
		if len(want) > 0 && !want[name] {
			continue
		}
		if err := rt.StopContainer(ctx, c.Id, 0); err != nil {
			return killed, fmt.Errorf("killing container %s of pod %s: %w", name, podUID, err)
		}
		killed = append(killed, name)
	}
	sort.Strings(killed)
	return killed, nil
}

// EventFunc records an event on an object, as record.EventRecorder.Event does.
type EventFunc func(ref *corev1.ObjectReference, eventType, reason, message string)

// PodKiller carries out PodKill faults on one node with real containers.
type PodKiller struct {
	Watcher *Watcher
	Node    string
	Runtime cri.RuntimeService
	// Event, when set, records events on the pods and Faults.
	Event EventFunc
	// Period is how often pending kills are looked for besides Fault changes (1 s).
	Period time.Duration
	// Tracer, when set, records each pod's kill as a span "kill containers" of Component, about
	// the pod and caused by the Fault (insight/trace); the runtime's stop calls are its children.
	Tracer    oteltrace.Tracer
	Component string

	mu   sync.Mutex
	done map[string]bool // fault UID/pod UID
}

// Start kills pending pods' containers on Fault changes and every Period, until ctx ends.
func (k *PodKiller) Start(ctx context.Context) error {
	if k.Period <= 0 {
		k.Period = time.Second
	}
	k.done = map[string]bool{}
	kick := make(chan struct{}, 1)
	k.Watcher.OnChange(func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	})
	t := time.NewTicker(k.Period)
	defer t.Stop()
	for {
		k.sync(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-kick:
		case <-t.C:
		}
	}
}

func (k *PodKiller) sync(ctx context.Context) {
	log := klog.FromContext(ctx)
	for _, kill := range k.Watcher.PendingKills(k.Node) {
		key := string(kill.Fault.UID) + "/" + string(kill.Pod.UID)
		if k.done[key] {
			continue
		}
		var names []string
		if kill.Fault.Spec.PodKill != nil {
			names = kill.Fault.Spec.PodKill.Containers
		}
		killed, err := k.kill(ctx, kill, names)
		if err != nil {
			log.Error(err, "Killing containers for a fault", "fault", klog.KObj(kill.Fault), "pod", kill.Pod.Name)
			continue
		}
		k.done[key] = true
		at := k.Watcher.clock.Now()
		log.Info("Killed containers for a fault", "fault", klog.KObj(kill.Fault), "pod", klog.KRef(kill.Fault.Namespace, kill.Pod.Name), "containers", killed)
		if k.Event != nil {
			podRef := &corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: kill.Fault.Namespace, Name: kill.Pod.Name, UID: kill.Pod.UID}
			for _, c := range killed {
				ref := *podRef
				ref.FieldPath = fmt.Sprintf("spec.containers{%s}", c)
				k.Event(&ref, corev1.EventTypeWarning, "Killing", fmt.Sprintf("Killing container %s (Fault %s/%s)", c, kill.Fault.Namespace, kill.Fault.Name))
			}
			faultRef := &corev1.ObjectReference{Kind: "Fault", APIVersion: chaosv1alpha1.GroupVersion.String(),
				Namespace: kill.Fault.Namespace, Name: kill.Fault.Name, UID: kill.Fault.UID}
			msg := fmt.Sprintf("Killed containers [%s] of pod %s on node %s", strings.Join(killed, " "), kill.Pod.Name, k.Node)
			if len(killed) == 0 {
				msg = fmt.Sprintf("Pod %s had no running container to kill on node %s", kill.Pod.Name, k.Node)
			}
			k.Event(faultRef, corev1.EventTypeNormal, chaosv1alpha1.ReasonContainersKilled, msg)
		}
		// The kill happened: keep trying to record it until the Fault is gone or recorded.
		err = wait.ExponentialBackoffWithContext(ctx, wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 6},
			func(ctx context.Context) (bool, error) {
				return k.Watcher.MarkKilled(ctx, kill, killed, at) == nil, nil
			})
		if err != nil {
			log.Error(err, "Recording a fault's kill", "fault", klog.KObj(kill.Fault), "pod", kill.Pod.Name)
		}
	}
}

// kill kills a pod's containers for a fault, in a span when the killer is traced.
func (k *PodKiller) kill(ctx context.Context, kill Kill, names []string) ([]string, error) {
	if k.Tracer == nil {
		return KillContainers(ctx, k.Runtime, kill.Pod.UID, names)
	}
	pod := &metav1.ObjectMeta{Name: kill.Pod.Name, Namespace: kill.Fault.Namespace, UID: kill.Pod.UID}
	ctx, span := k.Tracer.Start(ctx, "kill containers", oteltrace.WithAttributes(append(trace.Object("Pod", pod),
		trace.Component(k.Component), trace.Causes([]types.UID{kill.Fault.UID}),
		attribute.String("skiff.fault", kill.Fault.Namespace+"/"+kill.Fault.Name))...))
	defer span.End()
	killed, err := KillContainers(ctx, k.Runtime, kill.Pod.UID, names)
	if err != nil {
		span.RecordError(err)
	}
	span.SetAttributes(attribute.StringSlice("skiff.containers", killed))
	return killed, err
}
