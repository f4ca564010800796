package volumes

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// inside tells whether path is dir or below it.
func inside(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// FuzzVolumePaths: pod-controlled paths (configMap/secret item paths written by WriteAtomic,
// volumeMount subPaths) never reach outside the volume's directory, and nothing panics.
func FuzzVolumePaths(f *testing.F) {
	f.Add("key", "sub")
	f.Add("../../etc/passwd", "../x")
	f.Add("a/../../b", "/abs")
	f.Add("..data/x", "a/./b/")
	f.Add("./..", "..")
	f.Add("a//b/", "a/..b")
	f.Fuzz(func(t *testing.T, itemPath, subPath string) {
		root := t.TempDir()
		vol := filepath.Join(root, "vol")
		cm := &corev1.ConfigMap{Data: map[string]string{"key": "value"}}
		files, err := ConfigMapFiles(cm, []corev1.KeyToPath{{Key: "key", Path: itemPath}}, nil, false)
		if err == nil {
			if _, err := WriteAtomic(vol, files); err == nil {
				_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
					if err != nil {
						return nil
					}
					if !inside(vol, p) && p != root {
						t.Errorf("item path %q wrote %s outside the volume", itemPath, p)
					}
					if d.Type()&fs.ModeSymlink != 0 {
						if target, err := filepath.EvalSymlinks(p); err == nil && !inside(vol, target) {
							t.Errorf("item path %q made %s point outside the volume, at %s", itemPath, p, target)
						}
					}
					return nil
				})
			}
		}

		if err := os.MkdirAll(vol, 0o755); err != nil {
			t.Fatal(err)
		}
		c := &corev1.Container{Name: "c", VolumeMounts: []corev1.VolumeMount{{Name: "v", MountPath: "/m", SubPath: subPath}}}
		mounts, err := Mounts(c, map[string]Volume{"v": {Path: vol}})
		if err != nil {
			return
		}
		for _, m := range mounts {
			if !inside(vol, m.HostPath) {
				t.Errorf("subPath %q mounts %s, outside the volume %s", subPath, m.HostPath, vol)
			}
		}
	})
}
