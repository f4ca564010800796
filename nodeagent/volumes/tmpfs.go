package volumes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/skiff-dev/skiff/nodeagent/podnet"
)

// memorySize is the size of a memory-backed emptyDir, as the kubelet's
// SizeMemoryBackedVolumes: the volume's sizeLimit when set, else the pod's memory limit (the sum
// of its containers' when every one has a limit), else the node's allocatable memory; 0 leaves
// the kernel's default (half the host's memory).
func memorySize(pod *corev1.Pod, ed *corev1.EmptyDirVolumeSource, allocatable corev1.ResourceList) int64 {
	var limit resource.Quantity
	if q, ok := allocatable[corev1.ResourceMemory]; ok {
		limit = q.DeepCopy()
	}
	var sum resource.Quantity
	all := len(pod.Spec.Containers) > 0
	for _, c := range pod.Spec.Containers {
		q, ok := c.Resources.Limits[corev1.ResourceMemory]
		if !ok {
			all = false
			break
		}
		sum.Add(q)
	}
	if all && (limit.IsZero() || sum.Cmp(limit) < 0) {
		limit = sum
	}
	if ed.SizeLimit != nil && !ed.SizeLimit.IsZero() && (limit.IsZero() || ed.SizeLimit.Cmp(limit) < 0) {
		limit = ed.SizeLimit.DeepCopy()
	}
	return limit.Value()
}

// isMountPoint reports whether dir is the root of a mount (its device differs from its
// parent's), so a restarted agent does not mount a pod's tmpfs twice.
func isMountPoint(dir string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return false, err
	}
	if err := unix.Stat(filepath.Dir(dir), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev, nil
}

// mountTmpfs mounts a tmpfs of size bytes (0: the kernel's default) on dir unless one is there.
func mountTmpfs(dir string, size int64) error {
	if mounted, err := isMountPoint(dir); err != nil || mounted {
		return err
	}
	opts := ""
	if size > 0 {
		opts = fmt.Sprintf("size=%d", size)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mounting tmpfs on %s: %w", dir, err)
	}
	return nil
}

// unmountUnder unmounts every mount at or below dir, deepest first: a pod's memory-backed
// emptyDirs before its directory is removed.
func unmountUnder(dir string) error {
	mounts, err := podnet.Mounts()
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range podnet.MountsUnder(mounts, dir) {
		if err := unix.Unmount(p, 0); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, os.ErrNotExist) {
			// Busy (a container still holds it): detach, the kernel frees it when released.
			if err2 := unix.Unmount(p, unix.MNT_DETACH); err2 != nil {
				errs = append(errs, fmt.Errorf("unmounting %s: %w", p, err))
			}
		}
	}
	return errors.Join(errs...)
}
