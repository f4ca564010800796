package volumes

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Plugin directory names, upstream's escaped plugin names.
const (
	EmptyDirPlugin    = "kubernetes.io~empty-dir"
	ConfigMapPlugin   = "kubernetes.io~configmap"
	SecretPlugin      = "kubernetes.io~secret"
	DownwardAPIPlugin = "kubernetes.io~downward-api"
	ProjectedPlugin   = "kubernetes.io~projected"
)

// Volume is a pod volume set up on the host.
type Volume struct {
	// Path on the host.
	Path string
	// ReadOnly volumes are always mounted read-only (configMap, secret, downwardAPI,
	// projected, as upstream).
	ReadOnly bool
}

// Manager sets up and tears down pod volumes under Root (<data dir>/pods).
type Manager struct {
	Root   string
	Client kubernetes.Interface
	// NodeAllocatable stands in for unset limits in resourceFieldRef.
	NodeAllocatable corev1.ResourceList
	// Hostnames are the kubernetes.io/hostname values that pin a volume to this node (its
	// hostname label and name): a local-path volume pinned here whose directory is missing is
	// made again.
	Hostnames []string
	// Tokens requests projected service account tokens (one on Client when nil).
	Tokens   *TokenManager
	initOnce sync.Once

	mu sync.Mutex
	// setUpDone are the claim volumes of each pod (by uid) set up since the agent started: their
	// ownership is changed at the first set-up only, as upstream's mount.
	setUpDone map[string]map[string]bool
}

func (m *Manager) tokens() *TokenManager {
	m.initOnce.Do(func() {
		if m.Tokens == nil {
			m.Tokens = &TokenManager{Client: m.Client}
		}
	})
	return m.Tokens
}

// PodDir is the pod's directory.
func (m *Manager) PodDir(uid string) string { return filepath.Join(m.Root, uid) }

// VolumeDir is where a volume of a plugin lives.
func (m *Manager) VolumeDir(uid, plugin, name string) string {
	return filepath.Join(m.Root, uid, "volumes", plugin, name)
}

// NotFound is the error upstream's kubelet reports for a missing ConfigMap or Secret
// (`configmap "x" not found`), from its object cache's singular resource name.
func NotFound(resource, name string) error {
	return apierrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
}

// GetConfigMap reads a ConfigMap; a missing one is NotFound("configmap", name).
func GetConfigMap(ctx context.Context, c kubernetes.Interface, ns, name string) (*corev1.ConfigMap, error) {
	cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, NotFound("configmap", name)
	}
	return cm, err
}

// GetSecret reads a Secret; a missing one is NotFound("secret", name).
func GetSecret(ctx context.Context, c kubernetes.Interface, ns, name string) (*corev1.Secret, error) {
	s, err := c.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, NotFound("secret", name)
	}
	return s, err
}

// SetUp makes every volume of the pod ready (and refreshes configMap, secret and downwardAPI
// contents), returning them by name. The error names the volume as upstream's FailedMount
// event does: `MountVolume.SetUp failed for volume "x" : configmap "x" not found`.
func (m *Manager) SetUp(ctx context.Context, pod *corev1.Pod) (map[string]Volume, error) {
	out := map[string]Volume{}
	uid := string(pod.UID)
	for _, v := range pod.Spec.Volumes {
		vol, err := m.setUp(ctx, pod, uid, &v)
		if err != nil {
			return nil, fmt.Errorf("MountVolume.SetUp failed for volume %q : %w", v.Name, err)
		}
		out[v.Name] = vol
	}
	return out, nil
}

func (m *Manager) setUp(ctx context.Context, pod *corev1.Pod, uid string, v *corev1.Volume) (Volume, error) {
	src := v.VolumeSource
	var fsGroup *int64
	if pod.Spec.SecurityContext != nil {
		fsGroup = pod.Spec.SecurityContext.FSGroup
	}
	switch {
	case src.EmptyDir != nil:
		dir := m.VolumeDir(uid, EmptyDirPlugin, v.Name)
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return Volume{}, err
		}
		switch src.EmptyDir.Medium {
		case corev1.StorageMediumDefault:
		case corev1.StorageMediumMemory:
			// upstream: a tmpfs, sized as the kubelet's SizeMemoryBackedVolumes does.
			if err := mountTmpfs(dir, memorySize(pod, src.EmptyDir, m.NodeAllocatable)); err != nil {
				return Volume{}, err
			}
		default:
			return Volume{}, fmt.Errorf("emptyDir medium %q is not supported by skiff", src.EmptyDir.Medium)
		}
		// upstream: emptyDir is world-writable (0777), whatever the umask. With an fsGroup it
		// belongs to that group and is setgid, so what containers create there does too (upstream's
		// SetVolumeOwnership, which runs while the emptyDir is still empty).
		mode := os.FileMode(0o777)
		if fsGroup != nil {
			if err := os.Lchown(dir, -1, int(*fsGroup)); err != nil {
				return Volume{}, err
			}
			mode |= os.ModeSetgid
		}
		return Volume{Path: dir}, os.Chmod(dir, mode)
	case src.HostPath != nil:
		return Volume{Path: src.HostPath.Path}, checkHostPath(src.HostPath)
	case src.PersistentVolumeClaim != nil, src.Ephemeral != nil:
		return m.claimVolume(ctx, pod, v, fsGroup)
	case src.ConfigMap != nil:
		files, err := m.configMapFiles(ctx, pod.Namespace, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.DefaultMode, src.ConfigMap.Optional)
		if err != nil {
			return Volume{}, err
		}
		return m.write(uid, ConfigMapPlugin, v.Name, files, fsGroup)
	case src.Secret != nil:
		files, err := m.secretFiles(ctx, pod.Namespace, src.Secret.SecretName, src.Secret.Items, src.Secret.DefaultMode, src.Secret.Optional)
		if err != nil {
			return Volume{}, err
		}
		return m.write(uid, SecretPlugin, v.Name, files, fsGroup)
	case src.DownwardAPI != nil:
		files, err := DownwardAPIFiles(pod, src.DownwardAPI.Items, src.DownwardAPI.DefaultMode, m.NodeAllocatable)
		if err != nil {
			return Volume{}, err
		}
		return m.write(uid, DownwardAPIPlugin, v.Name, files, fsGroup)
	case src.Projected != nil:
		files := map[string]File{}
		for _, s := range src.Projected.Sources {
			var part map[string]File
			var err error
			mode := src.Projected.DefaultMode
			switch {
			case s.ConfigMap != nil:
				part, err = m.configMapFiles(ctx, pod.Namespace, s.ConfigMap.Name, s.ConfigMap.Items, mode, s.ConfigMap.Optional)
			case s.Secret != nil:
				part, err = m.secretFiles(ctx, pod.Namespace, s.Secret.Name, s.Secret.Items, mode, s.Secret.Optional)
			case s.DownwardAPI != nil:
				part, err = DownwardAPIFiles(pod, s.DownwardAPI.Items, mode, m.NodeAllocatable)
			case s.ServiceAccountToken != nil:
				// A token bound to the pod, requested again before it expires (TokenManager).
				var tok string
				if tok, err = m.tokens().Token(ctx, pod, s.ServiceAccountToken); err == nil {
					part = map[string]File{s.ServiceAccountToken.Path: {Data: []byte(tok), Mode: defaultMode(mode)}}
				}
			default:
				return Volume{}, fmt.Errorf("projected volume source not supported by skiff")
			}
			if err != nil {
				return Volume{}, err
			}
			for k, f := range part {
				files[k] = f
			}
		}
		return m.write(uid, ProjectedPlugin, v.Name, files, fsGroup)
	}
	return Volume{}, fmt.Errorf("volume type not supported by skiff")
}

// write writes a read-only volume's files atomically. With an fsGroup, as upstream's
// SetVolumeOwnership on a read-only volume: every file is readable by the group (mode|0440)
// and everything in the volume belongs to the group, so a container running as another user
// than root, with the fsGroup among its groups, reads a secret of defaultMode 0400.
func (m *Manager) write(uid, plugin, name string, files map[string]File, fsGroup *int64) (Volume, error) {
	dir := m.VolumeDir(uid, plugin, name)
	if fsGroup != nil {
		grouped := make(map[string]File, len(files))
		for p, f := range files {
			f.Mode |= 0o440
			grouped[p] = f
		}
		files = grouped
	}
	wrote, err := WriteAtomic(dir, files)
	if err != nil {
		return Volume{}, err
	}
	if fsGroup != nil && wrote {
		gid := int(*fsGroup)
		err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, -1, gid)
		})
		if err != nil {
			return Volume{}, err
		}
	}
	return Volume{Path: dir, ReadOnly: true}, nil
}

func (m *Manager) configMapFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, mode *int32, optional *bool) (map[string]File, error) {
	opt := optional != nil && *optional
	cm, err := GetConfigMap(ctx, m.Client, ns, name)
	if err != nil {
		if !(opt && apierrors.IsNotFound(err)) {
			return nil, err
		}
		cm = nil
	}
	return ConfigMapFiles(cm, items, mode, opt)
}

func (m *Manager) secretFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, mode *int32, optional *bool) (map[string]File, error) {
	opt := optional != nil && *optional
	s, err := GetSecret(ctx, m.Client, ns, name)
	if err != nil {
		if !(opt && apierrors.IsNotFound(err)) {
			return nil, err
		}
		s = nil
	}
	return SecretFiles(s, items, mode, opt)
}

// CleanUp removes the pod's directory (its volumes; hostPath volumes and persistent volumes
// are not inside it: their data stays).
func (m *Manager) CleanUp(uid string) error {
	if uid == "" {
		return nil
	}
	m.tokens().Forget(types.UID(uid))
	m.mu.Lock()
	delete(m.setUpDone, uid)
	m.mu.Unlock()
	// Memory-backed emptyDirs are mounts: unmounted first, so that nothing is left mounted and
	// the removal does not stop at a busy mount point.
	if err := unmountUnder(m.PodDir(uid)); err != nil {
		return err
	}
	return os.RemoveAll(m.PodDir(uid))
}

// PodUIDs lists the pods with a directory under Root.
func (m *Manager) PodUIDs() []string {
	entries, _ := os.ReadDir(m.Root)
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// checkHostPath checks a hostPath volume's type.
func checkHostPath(src *corev1.HostPathVolumeSource) error {
	t := corev1.HostPathUnset
	if src.Type != nil {
		t = *src.Type
	}
	return CheckHostPathType(src.Path, t)
}

// CheckHostPathType is upstream's hostPath type check, creating what the *OrCreate types ask
// for.
func CheckHostPathType(path string, t corev1.HostPathType) error {
	fi, statErr := os.Stat(path)
	exists := statErr == nil
	isDir := exists && fi.IsDir()
	mode := os.FileMode(0)
	if exists {
		mode = fi.Mode()
	}
	switch t {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if !exists {
			return os.MkdirAll(path, 0o755)
		}
		if !isDir {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", path)
		}
	case corev1.HostPathDirectory:
		if !isDir {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", path)
		}
	case corev1.HostPathFileOrCreate:
		if !exists {
			f, err := os.OpenFile(path, os.O_CREATE, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
		if !mode.IsRegular() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", path)
		}
	case corev1.HostPathFile:
		if !exists || !mode.IsRegular() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", path)
		}
	case corev1.HostPathSocket:
		if !exists || mode&os.ModeSocket == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a socket file", path)
		}
	case corev1.HostPathCharDev:
		if !exists || mode&os.ModeCharDevice == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a character device", path)
		}
	case corev1.HostPathBlockDev:
		if !exists || mode&os.ModeDevice == 0 || mode&os.ModeCharDevice != 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a block device", path)
		}
	default:
		return fmt.Errorf("%s is an invalid volume type", t)
	}
	return nil
}

// Mounts turns a container's volumeMounts into CRI mounts over the pod's volumes, as
// upstream's makeMounts: readOnly when the mount or the volume says so, subPath joined (and
// created as a directory when missing), mount propagation.
func Mounts(c *corev1.Container, vols map[string]Volume) ([]*runtimeapi.Mount, error) {
	var out []*runtimeapi.Mount
	for _, vm := range c.VolumeMounts {
		v, ok := vols[vm.Name]
		if !ok {
			return nil, fmt.Errorf("cannot find volume %q to mount into container %q", vm.Name, c.Name)
		}
		host := v.Path
		if vm.SubPath != "" {
			if filepath.IsAbs(vm.SubPath) || hasDotDot(vm.SubPath) {
				return nil, fmt.Errorf("subPath %q of volume mount %q must be a relative path without '..'", vm.SubPath, vm.Name)
			}
			host = filepath.Join(host, vm.SubPath)
			if _, err := os.Lstat(host); os.IsNotExist(err) {
				if v.ReadOnly {
					return nil, fmt.Errorf("subPath %q does not exist in volume %q", vm.SubPath, vm.Name)
				}
				if err := makeSubPath(v.Path, vm.SubPath); err != nil {
					return nil, err
				}
			}
		}
		mnt := &runtimeapi.Mount{
			ContainerPath: vm.MountPath,
			HostPath:      host,
			Readonly:      vm.ReadOnly || v.ReadOnly,
		}
		if vm.MountPropagation != nil {
			switch *vm.MountPropagation {
			case corev1.MountPropagationHostToContainer:
				mnt.Propagation = runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER
			case corev1.MountPropagationBidirectional:
				mnt.Propagation = runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL
			}
		}
		out = append(out, mnt)
	}
	return out, nil
}

// makeSubPath creates the missing directories of subPath under the volume's directory with the
// volume's own mode, whatever the umask, as upstream's makeMounts (SafeMakeDir with the mode of
// the volume): a subPath of an emptyDir is world-writable like the emptyDir, so a container
// running as another user than root can write there (charts mount /tmp that way under a
// read-only root file system).
func makeSubPath(volume, subPath string) error {
	fi, err := os.Stat(volume)
	if err != nil {
		return err
	}
	perm := fi.Mode() & (os.ModePerm | os.ModeSetgid) // setgid of an emptyDir with an fsGroup
	dir := volume
	for _, part := range strings.Split(filepath.Clean(subPath), "/") {
		dir = filepath.Join(dir, part)
		if err := os.Mkdir(dir, perm); err != nil {
			if os.IsExist(err) {
				continue
			}
			return err
		}
		if err := os.Chmod(dir, perm); err != nil {
			return err
		}
	}
	return nil
}

func hasDotDot(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}
