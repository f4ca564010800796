package cm

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func rl(cpu, mem string) corev1.ResourceList {
	l := corev1.ResourceList{}
	if cpu != "" {
		l[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		l[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	return l
}

func container(reqCPU, reqMem, limCPU, limMem string) corev1.Container {
	return corev1.Container{Name: "c", Resources: corev1.ResourceRequirements{Requests: rl(reqCPU, reqMem), Limits: rl(limCPU, limMem)}}
}

func podOf(uid string, cs ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: types.UID(uid)}, Spec: corev1.PodSpec{Containers: cs}}
}

// TestResourceConfigForPod has upstream's cases (helpers_linux_test.go TestResourceConfigForPod)
// with their numbers.
func TestResourceConfigForPod(t *testing.T) {
	const Mi = 1024 * 1024
	for _, tc := range []struct {
		name   string
		pod    *corev1.Pod
		period uint64
		pids   int64
		want   ResourceConfig
	}{
		{"besteffort", podOf("1", container("", "", "", "")), 100000, 0, ResourceConfig{CPUShares: ptr.To[uint64](2)}},
		{"burstable-no-limits", podOf("1", container("100m", "100Mi", "", "")), 100000, 0, ResourceConfig{CPUShares: ptr.To[uint64](102)}},
		{"burstable-with-limits", podOf("1", container("100m", "100Mi", "200m", "200Mi")), 100000, 0,
			ResourceConfig{CPUShares: ptr.To[uint64](102), CPUQuota: ptr.To[int64](20000), CPUPeriod: ptr.To[uint64](100000), Memory: ptr.To[int64](200 * Mi)}},
		{"burstable-partial-limits", podOf("1", container("100m", "100Mi", "200m", "200Mi"), container("100m", "100Mi", "", "")), 100000, 0,
			ResourceConfig{CPUShares: ptr.To[uint64](204)}},
		{"burstable-with-limits-with-tuned-quota", podOf("1", container("100m", "100Mi", "200m", "200Mi")), 5000, 0,
			ResourceConfig{CPUShares: ptr.To[uint64](102), CPUQuota: ptr.To[int64](1000), CPUPeriod: ptr.To[uint64](5000), Memory: ptr.To[int64](200 * Mi)}},
		{"burstable-memory-limits-only", podOf("1", container("100m", "", "", "32Mi"), container("", "", "", "64Mi")), 100000, 0,
			ResourceConfig{CPUShares: ptr.To[uint64](102), Memory: ptr.To[int64](96 * Mi)}},
		{"guaranteed", podOf("1", container("100m", "100Mi", "100m", "100Mi")), 100000, 0,
			ResourceConfig{CPUShares: ptr.To[uint64](102), CPUQuota: ptr.To[int64](10000), CPUPeriod: ptr.To[uint64](100000), Memory: ptr.To[int64](100 * Mi)}},
		{"guaranteed-with-tuned-quota", podOf("1", container("100m", "100Mi", "100m", "100Mi")), 5000, 0,
			ResourceConfig{CPUShares: ptr.To[uint64](102), CPUQuota: ptr.To[int64](1000), CPUPeriod: ptr.To[uint64](5000), Memory: ptr.To[int64](100 * Mi)}},
		{"guaranteed-pids", podOf("1", container("1", "1Gi", "1", "1Gi")), 100000, 1024,
			ResourceConfig{CPUShares: ptr.To[uint64](1024), CPUQuota: ptr.To[int64](100000), CPUPeriod: ptr.To[uint64](100000), Memory: ptr.To[int64](1024 * Mi), PidsLimit: ptr.To[int64](1024)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ResourceConfigForPod(tc.pod, tc.period, tc.pids)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ResourceConfigForPod (-want +got):\n%s", diff)
			}
		})
	}
}

// TestResourceConfigForPodInitContainers: an init container's request counts when it is larger
// than the app containers' sum (upstream's PodRequests).
func TestResourceConfigForPodInitContainers(t *testing.T) {
	pod := podOf("1", container("100m", "", "1", "64Mi"))
	pod.Spec.InitContainers = []corev1.Container{container("500m", "", "1", "128Mi")}
	got := ResourceConfigForPod(pod, 100000, 0)
	want := ResourceConfig{CPUShares: ptr.To[uint64](512), CPUQuota: ptr.To[int64](100000), CPUPeriod: ptr.To[uint64](100000), Memory: ptr.To[int64](128 * 1024 * 1024)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLayout(t *testing.T) {
	l := Layout{Root: NodeRoot("node-a")}
	for _, tc := range []struct {
		pod  *corev1.Pod
		want string
	}{
		{podOf("u1", container("", "", "", "")), "/skiff/node-a/kubepods/besteffort/podu1"},
		{podOf("u2", container("100m", "", "", "")), "/skiff/node-a/kubepods/burstable/podu2"},
		{podOf("u3", container("1", "1Gi", "1", "1Gi")), "/skiff/node-a/kubepods/podu3"},
	} {
		if got := l.Pod(tc.pod); got != tc.want {
			t.Errorf("Pod(%s) = %s, want %s", tc.pod.UID, got, tc.want)
		}
	}
	// The API server's class wins (it is immutable once set).
	p := podOf("u4", container("", "", "", ""))
	p.Status.QOSClass = corev1.PodQOSBurstable
	if got := l.Pod(p); got != "/skiff/node-a/kubepods/burstable/podu4" {
		t.Errorf("Pod with status.qosClass = %s", got)
	}
	if diff := cmp.Diff([]string{"/skiff/node-a/kubepods/podx", "/skiff/node-a/kubepods/burstable/podx", "/skiff/node-a/kubepods/besteffort/podx"}, l.PodDirs("x")); diff != "" {
		t.Errorf("PodDirs: %s", diff)
	}
}

func TestFiles(t *testing.T) {
	g := ResourceConfig{CPUShares: ptr.To[uint64](102), CPUQuota: ptr.To[int64](10000), CPUPeriod: ptr.To[uint64](100000), Memory: ptr.To[int64](33554432), PidsLimit: ptr.To[int64](100)}
	noLimit := ResourceConfig{CPUShares: ptr.To[uint64](2), CPUQuota: ptr.To[int64](-1), CPUPeriod: ptr.To[uint64](100000), Memory: ptr.To[int64](0)}
	for _, tc := range []struct {
		name string
		rc   ResourceConfig
		v    Version
		want []File
	}{
		{"v1", g, V1, []File{{"cpu", "cpu.shares", "102"}, {"cpu", "cpu.cfs_period_us", "100000"}, {"cpu", "cpu.cfs_quota_us", "10000"},
			{"memory", "memory.limit_in_bytes", "33554432"}, {"pids", "pids.max", "100"}}},
		{"v2", g, V2, []File{{"", "cpu.weight", "4"}, {"", "cpu.max", "10000 100000"}, {"", "memory.max", "33554432"}, {"", "pids.max", "100"}}},
		{"v1 unlimited", noLimit, V1, []File{{"cpu", "cpu.shares", "2"}, {"cpu", "cpu.cfs_period_us", "100000"}, {"cpu", "cpu.cfs_quota_us", "-1"},
			{"memory", "memory.limit_in_bytes", "-1"}}},
		{"v2 unlimited", noLimit, V2, []File{{"", "cpu.weight", "1"}, {"", "cpu.max", "max 100000"}, {"", "memory.max", "max"}}},
		{"v1 shares only", ResourceConfig{CPUShares: ptr.To[uint64](1024)}, V1, []File{{"cpu", "cpu.shares", "1024"}}},
		{"v2 shares only", ResourceConfig{CPUShares: ptr.To[uint64](1024)}, V2, []File{{"", "cpu.weight", "39"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.rc.Files(tc.v)); diff != "" {
				t.Errorf("Files (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSharesToWeight has upstream's conversion's points (cgroup_manager_linux.go getCPUWeight).
func TestSharesToWeight(t *testing.T) {
	for shares, want := range map[uint64]uint64{2: 1, 1024: 39, 262144: 10000, 300000: 10000, 102: 4} {
		if got := SharesToWeight(shares); got != want {
			t.Errorf("SharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
}

func TestNodeConfigAndBurstable(t *testing.T) {
	rc := NodeConfig(rl("2", "4Gi"))
	if *rc.CPUShares != 2048 || *rc.Memory != 4<<30 || rc.CPUQuota != nil {
		t.Errorf("NodeConfig = %+v", rc)
	}
	if got := BurstableShares(nil); got != 2 {
		t.Errorf("BurstableShares(none) = %d", got)
	}
	if got := BurstableShares([]int64{100, 250}); got != 358 {
		t.Errorf("BurstableShares = %d", got)
	}
}

// TestPodCgroupOnHost creates and removes a pod cgroup on this machine's cgroup file system,
// under a root of its own.
func TestPodCgroupOnHost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := DetectVersion("/sys/fs/cgroup"); err != nil {
		t.Skipf("no cgroup file system: %v", err)
	}
	root := NodeRoot("cm-test-" + strconv.Itoa(os.Getpid()))
	m, err := New(Config{Root: root, PodPidsLimit: 256})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if found, err := RemoveNode("/sys/fs/cgroup", root); !found || err != nil {
			t.Errorf("RemoveNode(%s) = %v, %v", root, found, err)
		}
		for _, h := range m.hierarchies() {
			if _, err := os.Stat(filepath.Join(h, root)); !os.IsNotExist(err) {
				t.Errorf("%s left: %v", filepath.Join(h, root), err)
			}
		}
	})
	if err := m.Init(rl("2", "4Gi")); err != nil {
		t.Fatal(err)
	}
	read := func(controller, name, file string) string {
		t.Helper()
		if m.Version() == V2 {
			controller = ""
		}
		b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", controller, name, file))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	pod := podOf("0f0e-test", container("250m", "16Mi", "500m", "32Mi"))
	if err := m.EnsurePod(pod); err != nil {
		t.Fatal(err)
	}
	name := m.CgroupParent(pod)
	if name != root+"/kubepods/burstable/pod0f0e-test" {
		t.Fatalf("CgroupParent = %s", name)
	}
	if m.Version() == V1 {
		for file, want := range map[string]string{"memory/memory.limit_in_bytes": "33554432", "cpu/cpu.shares": "256", "cpu/cpu.cfs_quota_us": "50000", "pids/pids.max": "256"} {
			c, f, _ := strings.Cut(file, "/")
			if got := read(c, name, f); got != want {
				t.Errorf("%s = %s, want %s", file, got, want)
			}
		}
		if got := read("cpu", root+"/kubepods/burstable", "cpu.shares"); got != "256" {
			t.Errorf("burstable cpu.shares = %s, want 256", got)
		}
		if got := read("cpu", root+"/kubepods/besteffort", "cpu.shares"); got != "2" {
			t.Errorf("besteffort cpu.shares = %s, want 2", got)
		}
	} else {
		for file, want := range map[string]string{"memory.max": "33554432", "cpu.weight": "10", "cpu.max": "50000 100000", "pids.max": "256"} {
			if got := read("", name, file); got != want {
				t.Errorf("%s = %s, want %s", file, got, want)
			}
		}
	}
	// A child as the runtime makes for a container goes with the pod.
	h := "/sys/fs/cgroup"
	if m.Version() == V1 {
		h += "/memory"
	}
	if err := os.Mkdir(filepath.Join(h, name, "container1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.RemovePod(pod.UID); err != nil {
		t.Fatal(err)
	}
	for _, h := range m.hierarchies() {
		if _, err := os.Stat(filepath.Join(h, name)); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", filepath.Join(h, name), err)
		}
	}
	if m.Version() == V1 {
		if got := read("cpu", root+"/kubepods/burstable", "cpu.shares"); got != "2" {
			t.Errorf("burstable cpu.shares after removal = %s, want 2", got)
		}
	}
	// Sweep removes an empty leftover pod cgroup.
	other := podOf("leftover", container("", "", "", ""))
	if err := m.EnsurePod(other); err != nil {
		t.Fatal(err)
	}
	removed, err := m.Sweep()
	if err != nil || len(removed) != 1 || removed[0] != "leftover" {
		t.Errorf("Sweep = %v, %v", removed, err)
	}
}

// TestV2OnFakeTree runs the v2 side on a directory tree shaped as a cgroup2 mount (this
// machine is v1): controllers enabled down the path where missing, the pod's files written,
// files of controllers not delegated skipped.
func TestV2OnFakeTree(t *testing.T) {
	mount := t.TempDir()
	root := NodeRoot("n")
	pod := podOf("u1", container("250m", "16Mi", "500m", "32Mi"))
	podDir := Layout{Root: root}.Pod(pod)
	write := func(p, v string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dirs := []string{"", "skiff", "skiff/n", "skiff/n/kubepods", "skiff/n/kubepods/burstable", strings.TrimPrefix(podDir, "/")}
	for i, d := range dirs {
		write(filepath.Join(mount, d, "cgroup.controllers"), "cpuset cpu io memory") // no pids
		// the mount's root has what the pods need already
		enabled := ""
		if i == 0 {
			enabled = "cpu memory"
		}
		write(filepath.Join(mount, d, "cgroup.subtree_control"), enabled)
		for _, f := range []string{"cpu.weight", "cpu.max", "memory.max"} {
			write(filepath.Join(mount, d, f), "")
		}
	}
	m := &Manager{cfg: Config{Root: root, Mount: mount, CPUPeriod: 100000, PodPidsLimit: 100}, version: V2, layout: Layout{Root: root}, burstable: map[types.UID]int64{}}
	if err := m.EnsurePod(pod); err != nil {
		t.Fatal(err)
	}
	read := func(d, f string) string {
		b, _ := os.ReadFile(filepath.Join(mount, d, f))
		return string(b)
	}
	if got := read("", "cgroup.subtree_control"); got != "cpu memory" {
		t.Errorf("root subtree_control rewritten: %q", got) // had what the pods need
	}
	if got := read("skiff/n/kubepods", "cgroup.subtree_control"); got != "+cpu +memory" {
		t.Errorf("kubepods subtree_control = %q", got)
	}
	for f, want := range map[string]string{"cpu.weight": "10", "cpu.max": "50000 100000", "memory.max": "33554432"} {
		if got := read(podDir, f); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(mount, podDir, "pids.max")); !os.IsNotExist(err) {
		t.Errorf("pids.max written without the pids controller: %v", err)
	}
	if got := read("skiff/n/kubepods/burstable", "cpu.weight"); got != "10" {
		t.Errorf("burstable cpu.weight = %q, want 10 (256 shares)", got)
	}
}

// TestGrow: while containers are resized, the pod's quota and memory limit never go below
// their current values; unlimited stays unlimited; unknown current values take the new ones.
func TestGrow(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		name          string
		cur           Limits
		quota, memory *int64
		wantQ, wantM  int64
	}{
		{"raise both", Limits{i(50000), i(100)}, i(80000), i(200), 80000, 200},
		{"lower both: kept", Limits{i(80000), i(200)}, i(50000), i(100), 80000, 200},
		{"current unlimited", Limits{i(-1), i(-1)}, i(50000), i(100), -1, -1},
		{"new unlimited", Limits{i(50000), i(100)}, i(-1), i(0), -1, 0},
		{"unknown current", Limits{}, i(50000), i(100), 50000, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Grow(tc.cur, ResourceConfig{CPUQuota: tc.quota, Memory: tc.memory})
			if *got.CPUQuota != tc.wantQ || *got.Memory != tc.wantM {
				t.Errorf("Grow = quota %d memory %d, want %d %d", *got.CPUQuota, *got.Memory, tc.wantQ, tc.wantM)
			}
		})
	}
	for _, tc := range []struct {
		v             Version
		quota, memory string
		wantQ, wantM  int64
	}{
		{V1, "50000\n", "134217728\n", 50000, 134217728},
		{V1, "-1\n", "9223372036854771712\n", -1, -1},
		{V2, "max 100000\n", "max\n", -1, -1},
		{V2, "20000 100000\n", "67108864\n", 20000, 67108864},
	} {
		l, err := ParseLimits(tc.v, tc.quota, tc.memory)
		if err != nil || *l.CPUQuota != tc.wantQ || *l.Memory != tc.wantM {
			t.Errorf("ParseLimits(v%d, %q, %q) = %v %v, %v; want %d %d", tc.v, tc.quota, tc.memory, l.CPUQuota, l.Memory, err, tc.wantQ, tc.wantM)
		}
	}
}
