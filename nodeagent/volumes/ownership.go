package volumes

import (
	"os"
	"path/filepath"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// SetVolumeOwnership gives a writable volume to the pod's fsGroup, as upstream's
// SetVolumeOwnership (pkg/volume/volume_linux.go): everything in it belongs to the group and is
// readable and writable by it, directories are setgid (what containers create there belongs to
// the group too) and searchable. With fsGroupChangePolicy OnRootMismatch nothing is done when
// the volume's root already has the group, those permissions and setgid; otherwise (Always, the
// default) the whole tree is walked, the root last. Failures on single files are logged and
// skipped, as upstream.
func SetVolumeOwnership(dir string, fsGroup int64, policy *corev1.PodFSGroupChangePolicy) error {
	if policy != nil && *policy == corev1.FSGroupChangeOnRootMismatch && !ownershipMismatch(dir, fsGroup) {
		return nil
	}
	return walkDeep(dir, func(path string, fi os.FileInfo) {
		if err := os.Lchown(path, -1, int(fsGroup)); err != nil {
			klog.ErrorS(err, "Lchown failed", "path", path)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return // chmod would change the link's target
		}
		mask := os.FileMode(0o660)
		if fi.IsDir() {
			mask |= os.ModeSetgid | 0o110
		}
		if err := os.Chmod(path, fi.Mode()|mask); err != nil {
			klog.ErrorS(err, "Chmod failed", "path", path)
		}
	})
}

// ownershipMismatch is upstream's requiresPermissionChange: the root is not a directory of the
// group with at least rwxrwx--- and setgid.
func ownershipMismatch(dir string, fsGroup int64) bool {
	fi, err := os.Stat(dir)
	if err != nil {
		return true
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int64(st.Gid) != fsGroup || !fi.IsDir() {
		return true
	}
	const want = os.FileMode(0o770)
	return fi.Mode().Perm()&want != want || fi.Mode()&os.ModeSetgid == 0
}

// walkDeep calls f on every file under root, children before their directory (upstream's
// walkDeep), without following symbolic links.
func walkDeep(root string, f func(path string, fi os.FileInfo)) error {
	fi, err := os.Lstat(root)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		entries, err := os.ReadDir(root)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := walkDeep(filepath.Join(root, e.Name()), f); err != nil {
				return err
			}
		}
	}
	f(root, fi)
	return nil
}
