package cm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/nodeagent/kuberuntime"
)

// Config configures a Manager.
type Config struct {
	// Root is the node's cgroup root (NodeRoot(node)).
	Root string
	// Mount is where the cgroup file system is (default /sys/fs/cgroup).
	Mount string
	// CPUPeriod is the CFS period of the pod cgroups in µs (default 100000, upstream's
	// --cpu-cfs-quota-period).
	CPUPeriod uint64
	// PodPidsLimit is the pods' pids limit (--pod-max-pids; <= 0: none).
	PodPidsLimit int64
}

// Manager keeps the node's cgroups with the cgroupfs driver, containerd's (SystemdCgroup =
// false in its config): <root>/kubepods with burstable and besteffort under it, and a pod<uid>
// cgroup per pod with its pod-level limits, given to the runtime as the sandbox's CgroupParent.
type Manager struct {
	cfg     Config
	version Version
	layout  Layout

	mu sync.Mutex
	// burstable are the cpu requests (millicores) of the burstable pods, for the QoS cgroup's
	// shares.
	burstable map[types.UID]int64
}

// controllers are the v2 controllers the pod cgroups use.
var controllers = []string{"cpu", "memory", "pids"}

// DetectVersion tells the cgroup version mounted at mount, as runc's IsCgroup2UnifiedMode:
// cgroup2 at the mount point is v2; a tmpfs holding v1 hierarchies (cpu, memory) is v1 (also
// in the hybrid layout, where a cgroup2 "unified" sits beside them without controllers).
func DetectVersion(mount string) (Version, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(mount, &st); err != nil {
		return 0, fmt.Errorf("cgroup file system at %s: %w", mount, err)
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return V2, nil
	}
	for _, c := range []string{"cpu", "memory"} {
		if _, err := os.Stat(filepath.Join(mount, c, "cgroup.procs")); err != nil {
			return 0, fmt.Errorf("no cgroup v1 %s hierarchy at %s: %w", c, mount, err)
		}
	}
	return V1, nil
}

// New detects the host's cgroup version; Init creates the node's cgroups.
func New(cfg Config) (*Manager, error) {
	if cfg.Root == "" {
		return nil, errors.New("cgroup manager needs a root")
	}
	if cfg.Mount == "" {
		cfg.Mount = "/sys/fs/cgroup"
	}
	if cfg.CPUPeriod == 0 {
		cfg.CPUPeriod = kuberuntime.QuotaPeriod
	}
	v, err := DetectVersion(cfg.Mount)
	if err != nil {
		return nil, err
	}
	return &Manager{cfg: cfg, version: v, layout: Layout{Root: cfg.Root}, burstable: map[types.UID]int64{}}, nil
}

// Version is the host's cgroup version.
func (m *Manager) Version() Version { return m.version }

// Layout names the node's cgroups.
func (m *Manager) Layout() Layout { return m.layout }

// Init creates kubepods with the node's allocatable and the QoS cgroups (burstable with the
// minimum shares until its pods are known, besteffort with the minimum), as upstream's
// createNodeAllocatableCgroups and qosContainerManager.Start.
func (m *Manager) Init(allocatable corev1.ResourceList) error {
	if err := m.ensure(m.layout.Kubepods(), NodeConfig(allocatable)); err != nil {
		return err
	}
	minShares := uint64(kuberuntime.MilliCPUToShares(0))
	for _, c := range []corev1.PodQOSClass{corev1.PodQOSBurstable, corev1.PodQOSBestEffort} {
		if err := m.ensure(m.layout.QOS(c), ResourceConfig{CPUShares: &minShares}); err != nil {
			return err
		}
	}
	return nil
}

// CgroupParent is the pod's cgroup, the sandbox's CgroupParent.
func (m *Manager) CgroupParent(pod *corev1.Pod) string { return m.layout.Pod(pod) }

// EnsurePod creates (or updates) the pod's cgroup with ResourceConfigForPod, and the burstable
// QoS cgroup's shares, as the kubelet before it starts the pod's sandbox.
func (m *Manager) EnsurePod(pod *corev1.Pod) error {
	if err := m.ensure(m.layout.Pod(pod), ResourceConfigForPod(pod, m.cfg.CPUPeriod, m.cfg.PodPidsLimit)); err != nil {
		return err
	}
	return m.EnsureQOS(pod)
}

// EnsureQOS updates the burstable QoS cgroup's shares with the pod's cpu request.
func (m *Manager) EnsureQOS(pod *corev1.Pod) error {
	if PodQOS(pod) != corev1.PodQOSBurstable {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	req := CPURequest(pod)
	if old, ok := m.burstable[pod.UID]; ok && old == req {
		return nil
	}
	m.burstable[pod.UID] = req
	return m.updateBurstable()
}

// GrowPod is EnsurePod while the pod's containers are resized in place: the pod's CFS quota and
// memory limit are not lowered below their current values (Grow); EnsurePod after the
// containers' resize sets the exact ones.
func (m *Manager) GrowPod(pod *corev1.Pod) error {
	name := m.layout.Pod(pod)
	read := func(controller, file string) string {
		b, _ := os.ReadFile(filepath.Join(m.cfg.Mount, controller, name, file))
		return string(b)
	}
	var cur Limits
	var err error
	if m.version == V2 {
		cur, err = ParseLimits(V2, read("", "cpu.max"), read("", "memory.max"))
	} else {
		cur, err = ParseLimits(V1, read("cpu", "cpu.cfs_quota_us"), read("memory", "memory.limit_in_bytes"))
	}
	if err != nil {
		return err
	}
	if err := m.ensure(name, Grow(cur, ResourceConfigForPod(pod, m.cfg.CPUPeriod, m.cfg.PodPidsLimit))); err != nil {
		return err
	}
	return m.EnsureQOS(pod)
}

// updateBurstable writes the burstable cgroup's shares (m.mu held).
func (m *Manager) updateBurstable() error {
	shares := BurstableShares(slices.Collect(func(yield func(int64) bool) {
		for _, v := range m.burstable {
			if !yield(v) {
				return
			}
		}
	}))
	return m.write(m.layout.QOS(corev1.PodQOSBurstable), ResourceConfig{CPUShares: &shares})
}

// RemovePod removes the pod's cgroup (with what the runtime left under it) from every
// hierarchy; a cgroup that still has processes stays and is an error.
func (m *Manager) RemovePod(uid types.UID) error {
	var errs []error
	for _, d := range m.layout.PodDirs(uid) {
		errs = append(errs, m.remove(d))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.burstable[uid]; ok {
		delete(m.burstable, uid)
		errs = append(errs, m.updateBurstable())
	}
	return errors.Join(errs...)
}

// Sweep removes the pod cgroups under kubepods that hold no process (pods of an earlier run of
// the node); those with processes stay (their pods still run). It returns the pod UIDs
// removed.
func (m *Manager) Sweep() ([]types.UID, error) {
	seen := map[types.UID]bool{}
	for _, h := range m.hierarchies() {
		for _, parent := range []string{m.layout.Kubepods(), m.layout.QOS(corev1.PodQOSBurstable), m.layout.QOS(corev1.PodQOSBestEffort)} {
			entries, _ := os.ReadDir(filepath.Join(h, parent))
			for _, e := range entries {
				if e.IsDir() && strings.HasPrefix(e.Name(), podCgroupPrefix) {
					seen[types.UID(strings.TrimPrefix(e.Name(), podCgroupPrefix))] = true
				}
			}
		}
	}
	var removed []types.UID
	var errs []error
	for uid := range seen {
		if err := m.RemovePod(uid); err != nil {
			if !errors.Is(err, syscall.EBUSY) {
				errs = append(errs, err)
			}
			continue
		}
		removed = append(removed, uid)
	}
	slices.Sort(removed)
	return removed, errors.Join(errs...)
}

// hierarchies are the mounted hierarchies' directories: the mount itself on v2; on v1 each
// hierarchy (cpu, memory, ..., and the hybrid layout's unified), the runtime creating a
// container's cgroup in all of them.
func (m *Manager) hierarchies() []string {
	if m.version == V2 {
		return []string{m.cfg.Mount}
	}
	entries, _ := os.ReadDir(m.cfg.Mount)
	var hs []string
	for _, e := range entries {
		if !e.IsDir() { // symlinks such as cpu -> cpu,cpuacct are the same hierarchy
			continue
		}
		d := filepath.Join(m.cfg.Mount, e.Name())
		if _, err := os.Stat(filepath.Join(d, "cgroup.procs")); err == nil {
			hs = append(hs, d)
		}
	}
	return hs
}

// ensure creates cgroup name where rc's files go and writes them.
func (m *Manager) ensure(name string, rc ResourceConfig) error {
	if m.version == V2 {
		if err := m.enableControllers(name); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(m.cfg.Mount, name), 0o755); err != nil {
			return fmt.Errorf("creating cgroup %s: %w", name, err)
		}
	} else {
		for _, c := range controllers {
			if !m.mounted(c) {
				continue // never a plain directory in the tmpfs above the hierarchies
			}
			if err := os.MkdirAll(filepath.Join(m.cfg.Mount, c, name), 0o755); err != nil {
				return fmt.Errorf("creating cgroup %s: %w", name, err)
			}
		}
	}
	return m.write(name, rc)
}

// mounted reports whether the v1 hierarchy of controller c is mounted (pids may not be).
func (m *Manager) mounted(c string) bool {
	_, err := os.Stat(filepath.Join(m.cfg.Mount, c, "cgroup.procs"))
	return err == nil
}

// write writes rc's files of cgroup name (on v1, of the mounted hierarchies; on v2, of the
// controllers enabled for it).
func (m *Manager) write(name string, rc ResourceConfig) error {
	for _, f := range rc.Files(m.version) {
		if f.Controller != "" && !m.mounted(f.Controller) {
			continue
		}
		p := filepath.Join(m.cfg.Mount, f.Controller, name, f.Name)
		if _, err := os.Stat(p); m.version == V2 && err != nil {
			continue // the controller is not delegated here: nothing to enforce it with
		}
		if err := os.WriteFile(p, []byte(f.Value), 0o644); err != nil {
			return fmt.Errorf("setting %s of cgroup %s to %s: %w", f.Name, name, f.Value, err)
		}
	}
	return nil
}

// enableControllers turns the pod controllers on in the subtree_control of name's ancestors
// (v2: a cgroup has the controllers its parent enables), as runc's CreateCgroupPath.
func (m *Manager) enableControllers(name string) error {
	parts := strings.Split(strings.Trim(name, "/"), "/")
	for i := range parts { // the mount, then each ancestor of name
		dir := filepath.Join(append([]string{m.cfg.Mount}, parts[:i]...)...)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating cgroup %s: %w", dir, err)
		}
		avail, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
		if err != nil {
			return fmt.Errorf("cgroup %s: %w", dir, err)
		}
		enabled, _ := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
		var enable []string // only what is missing: a write can fail where processes live
		for _, c := range controllers {
			if slices.Contains(strings.Fields(string(avail)), c) && !slices.Contains(strings.Fields(string(enabled)), c) {
				enable = append(enable, "+"+c)
			}
		}
		if len(enable) == 0 {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte(strings.Join(enable, " ")), 0o644); err != nil {
			return fmt.Errorf("enabling controllers of cgroup %s: %w", dir, err)
		}
	}
	return nil
}

// remove removes cgroup name and the cgroups under it from every hierarchy, deepest first
// (rmdir: a cgroup's files are not removable, the directory is once it holds no process).
func (m *Manager) remove(name string) error {
	var errs []error
	for _, h := range m.hierarchies() {
		root := filepath.Join(h, name)
		var dirs []string
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("removing cgroup %s: %w", dirs[i], err))
			}
		}
	}
	if len(errs) > 0 {
		klog.V(4).InfoS("Pod cgroup not removed", "cgroup", name, "err", errors.Join(errs...))
	}
	return errors.Join(errs...)
}

// RemoveNode removes the node's cgroups (root, NodeRoot(node)) from every hierarchy, and the
// Skiff parent when no other node's are left, as `skiff killall` does after killing the node's
// containers. It reports whether the root was there.
func RemoveNode(mount, root string) (bool, error) {
	m, err := New(Config{Root: root, Mount: mount})
	if err != nil {
		return false, nil // no cgroup file system: nothing to remove
	}
	var found bool
	for _, h := range m.hierarchies() {
		if _, err := os.Stat(filepath.Join(h, root)); err == nil {
			found = true
		}
	}
	if !found {
		return false, nil
	}
	if err := m.remove(root); err != nil {
		return true, err
	}
	for _, h := range m.hierarchies() {
		_ = syscall.Rmdir(filepath.Join(h, SkiffRoot)) // fails while other nodes' cgroups are there
	}
	return true, nil
}
