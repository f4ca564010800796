package faults

import (
	"context"
	"reflect"
	"testing"

	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff-dev/skiff/nodeagent/kuberuntime"
)

// fakeRuntime answers ListContainers with its containers (honouring the filter) and records
// StopContainer calls; the rest of the interface is not used.
type fakeRuntime struct {
	cri.RuntimeService
	containers []*runtimeapi.Container
	stopped    []string
}

func (f *fakeRuntime) ListContainers(_ context.Context, filter *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	var out []*runtimeapi.Container
	for _, c := range f.containers {
		if filter.GetState() != nil && c.State != filter.GetState().State {
			continue
		}
		match := true
		for k, v := range filter.GetLabelSelector() {
			if c.Labels[k] != v {
				match = false
			}
		}
		if match {
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *fakeRuntime) StopContainer(_ context.Context, id string, timeout int64) error {
	if timeout != 0 {
		return nil
	}
	f.stopped = append(f.stopped, id)
	return nil
}

func TestKillContainers(t *testing.T) {
	c := func(id, pod, name string, state runtimeapi.ContainerState) *runtimeapi.Container {
		return &runtimeapi.Container{Id: id, State: state,
			Labels: map[string]string{kuberuntime.PodUIDLabel: pod, kuberuntime.ContainerNameLabel: name}}
	}
	running, exited := runtimeapi.ContainerState_CONTAINER_RUNNING, runtimeapi.ContainerState_CONTAINER_EXITED
	tests := []struct {
		name        string
		names       []string
		wantKilled  []string
		wantStopped []string
	}{
		{"every running container", nil, []string{"app", "sidecar"}, []string{"1", "2"}},
		{"only the named", []string{"sidecar"}, []string{"sidecar"}, []string{"2"}},
		{"no such container", []string{"nope"}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := &fakeRuntime{containers: []*runtimeapi.Container{
				c("1", "p1", "app", running), c("2", "p1", "sidecar", running), c("3", "p1", "old", exited), c("4", "p2", "app", running),
			}}
			killed, err := KillContainers(context.Background(), rt, "p1", tc.names)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(killed, tc.wantKilled) || !reflect.DeepEqual(rt.stopped, tc.wantStopped) {
				t.Errorf("killed %v stopped %v, want %v and %v", killed, rt.stopped, tc.wantKilled, tc.wantStopped)
			}
		})
	}
}
