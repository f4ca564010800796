package agent

import (
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/nodeagent/cm"
)

// newCgroups sets up the node's cgroups under cfg.CgroupRoot (package cm): kubepods with the
// node allocatable, the QoS cgroups, and removes the empty pod cgroups an earlier run left.
// Without a usable cgroup file system (not root, none mounted) the node runs its pods where
// the runtime puts them, as the one line says.
func (a *Agent) newCgroups() *cm.Manager {
	if a.cfg.CgroupRoot == "" {
		return nil
	}
	log := klog.Background().WithValues("node", a.cfg.NodeName, "cgroupRoot", a.cfg.CgroupRoot)
	m, err := cm.New(cm.Config{Root: a.cfg.CgroupRoot, PodPidsLimit: a.cfg.PodPidsLimit})
	if err == nil {
		_, allocatable := a.machine.Capacity()
		err = m.Init(allocatable)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "skiff: node %s runs without pod cgroups (no pod-level limits): %v\n", a.cfg.NodeName, err)
		return nil
	}
	removed, err := m.Sweep()
	if err != nil {
		log.Error(err, "Sweeping leftover pod cgroups failed")
	}
	log.Info("Pod cgroups", "version", m.Version(), "leftoversRemoved", len(removed))
	return m
}

// cgroupParent is the pod's cgroup ("" without pod cgroups).
func (a *Agent) cgroupParent(pod *corev1.Pod) string {
	if a.cgroups == nil {
		return ""
	}
	return a.cgroups.CgroupParent(pod)
}

// ensurePodCgroup creates or updates the pod's cgroup before its sandbox and containers start,
// as the kubelet's SyncPod (pcm.EnsureExists).
func (a *Agent) ensurePodCgroup(pod *corev1.Pod) error {
	if a.cgroups == nil {
		return nil
	}
	if err := a.cgroups.EnsurePod(pod); err != nil {
		return fmt.Errorf("failed to ensure that the pod: %s cgroups exist and are correctly applied: %w", pod.UID, err)
	}
	return nil
}

// removePodCgroup removes the pod's cgroup once its containers are gone.
func (a *Agent) removePodCgroup(uid types.UID) error {
	if a.cgroups == nil {
		return nil
	}
	if err := a.cgroups.RemovePod(uid); err != nil {
		return fmt.Errorf("removing the cgroup of pod %s: %w", uid, err)
	}
	return nil
}
