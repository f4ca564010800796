package containerd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"

	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// RemoveAllPodSandboxes stops and removes every pod sandbox of rs, with their containers; CNI
// releases their addresses and network namespaces. For tests and `skiff` teardown.
func RemoveAllPodSandboxes(ctx context.Context, rs internalapi.RuntimeService) error {
	sandboxes, err := rs.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{})
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range sandboxes {
		if err := rs.StopPodSandbox(ctx, s.Id); err != nil {
			errs = append(errs, fmt.Errorf("stopping sandbox %s: %w", s.Id, err))
		}
		if err := rs.RemovePodSandbox(ctx, s.Id); err != nil {
			errs = append(errs, fmt.Errorf("removing sandbox %s: %w", s.Id, err))
		}
	}
	return errors.Join(errs...)
}

// DeleteBridge removes the node's pod bridge, if it exists (once its pods are gone). The bridge
// plugin creates it again at the next pod.
func (c *Config) DeleteBridge() error {
	if _, err := net.InterfaceByName(c.Bridge()); err != nil {
		return nil
	}
	out, err := exec.Command("ip", "link", "delete", c.Bridge()).CombinedOutput()
	if err != nil {
		return fmt.Errorf("deleting bridge %s: %v: %s", c.Bridge(), err, strings.TrimSpace(string(out)))
	}
	return nil
}
