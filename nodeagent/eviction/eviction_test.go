package eviction_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/nodeagent/eviction"
)

func TestParseThresholds(t *testing.T) {
	for _, tc := range []struct {
		name, hard, soft, grace string
		want                    []string // signal<value/grace
		err                     string
	}{
		{name: "defaults", hard: eviction.DefaultHard, want: []string{"memory.available<100Mi/0s", "nodefs.available<5%/0s",
			"nodefs.inodesFree<5%/0s", "imagefs.available<5%/0s", "imagefs.inodesFree<5%/0s"}},
		{name: "soft with grace", hard: "pid.available<1k", soft: "memory.available<1.5Gi", grace: "memory.available=1m30s",
			want: []string{"pid.available<1k/0s", "memory.available<1536Mi/1m30s"}},
		{name: "zero is off", hard: "memory.available<0,nodefs.available<0%, imagefs.available < 12.5% ", want: []string{"imagefs.available<12.5%/0s"}},
		{name: "unknown signal", hard: "cpu.available<1", err: "unsupported eviction signal cpu.available"},
		{name: "no operator", hard: "memory.available=1Gi", err: "want signal<value"},
		{name: "bad quantity", hard: "memory.available<lots", err: "eviction threshold of memory.available"},
		{name: "negative", hard: "memory.available<-1Mi", err: "must be positive"},
		{name: "percent above 100", hard: "nodefs.available<101%", err: "must be >= 0% and <= 100%"},
		{name: "soft without grace", soft: "memory.available<1Gi", err: "no corresponding grace period specified for eviction signal memory.available"},
		{name: "grace without soft", grace: "memory.available=1m", err: "without a soft threshold"},
		{name: "bad grace", soft: "memory.available<1Gi", grace: "memory.available=soon", err: "eviction soft grace period of memory.available"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := eviction.ParseThresholds(tc.hard, tc.soft, tc.grace)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, th := range ts {
				got = append(got, string(th.Signal)+"<"+th.Value()+"/"+th.GracePeriod.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func u64(v uint64) *uint64 { return &v }

// summary is a node with avail bytes of memory free of 8Gi, a 100Gi disk with diskFree, and
// pods by UID with working sets and ephemeral storage.
func summary(avail, diskFree uint64, pods map[string][2]uint64) *statsv1alpha1.Summary {
	s := &statsv1alpha1.Summary{Node: statsv1alpha1.NodeStats{
		Memory: &statsv1alpha1.MemoryStats{AvailableBytes: u64(avail), WorkingSetBytes: u64(8<<30 - avail)},
		Fs:     &statsv1alpha1.FsStats{AvailableBytes: u64(diskFree), CapacityBytes: u64(100 << 30), InodesFree: u64(1e6), Inodes: u64(2e6)},
		Rlimit: &statsv1alpha1.RlimitStats{MaxPID: ptr.To[int64](4096), NumOfRunningProcesses: ptr.To[int64](300)},
	}}
	for uid, u := range pods {
		s.Pods = append(s.Pods, statsv1alpha1.PodStats{PodRef: statsv1alpha1.PodReference{UID: uid},
			Memory:           &statsv1alpha1.MemoryStats{WorkingSetBytes: u64(u[0])},
			EphemeralStorage: &statsv1alpha1.FsStats{UsedBytes: u64(u[1])},
			Containers: []statsv1alpha1.ContainerStats{{Name: "c", Memory: &statsv1alpha1.MemoryStats{WorkingSetBytes: u64(u[0])},
				Rootfs: &statsv1alpha1.FsStats{UsedBytes: u64(u[1] / 2)}, Logs: &statsv1alpha1.FsStats{UsedBytes: u64(u[1] / 2)}}},
			ProcessStats: &statsv1alpha1.ProcessStats{ProcessCount: u64(u[0] >> 20)}})
	}
	return s
}

func TestObserve(t *testing.T) {
	obs := eviction.Observe(summary(1<<30, 20<<30, nil))
	want := eviction.Observations{
		eviction.SignalMemoryAvailable:  {Available: 1 << 30, Capacity: 8 << 30},
		eviction.SignalNodeFsAvailable:  {Available: 20 << 30, Capacity: 100 << 30},
		eviction.SignalNodeFsInodesFree: {Available: 1e6, Capacity: 2e6},
		eviction.SignalPIDAvailable:     {Available: 4096 - 300, Capacity: 4096},
	}
	if diff := cmp.Diff(want, obs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestDecide: a hard threshold evicts at once, a soft one after its grace period (and starts
// over when it stops being met); the condition stays for the transition period after it was
// last seen; memory is reclaimed before disk.
func TestDecide(t *testing.T) {
	ts, err := eviction.ParseThresholds("nodefs.available<10%", "memory.available<2Gi", "memory.available=30s")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1700000000, 0)
	low, ok := eviction.Observe(summary(1<<30, 5<<30, nil)), eviction.Observe(summary(4<<30, 50<<30, nil))
	type step struct {
		at    time.Duration
		obs   eviction.Observations
		conds []corev1.NodeConditionType
		evict []eviction.Signal
	}
	var st eviction.State
	for i, s := range []step{
		{0, low, []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure}, []eviction.Signal{eviction.SignalNodeFsAvailable}},
		{20 * time.Second, low, []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure}, []eviction.Signal{eviction.SignalNodeFsAvailable}},
		{30 * time.Second, low, []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure},
			[]eviction.Signal{eviction.SignalMemoryAvailable, eviction.SignalNodeFsAvailable}},
		{40 * time.Second, ok, []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure}, nil},
		// met again: the soft grace period starts over.
		{50 * time.Second, low, []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure}, []eviction.Signal{eviction.SignalNodeFsAvailable}},
		{50*time.Second + 5*time.Minute - time.Second, ok, []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure}, nil},
		{50*time.Second + 5*time.Minute, ok, nil, nil},
	} {
		var d eviction.Decision
		d, st = eviction.Decide(t0.Add(s.at), s.obs, ts, 5*time.Minute, st)
		var evict []eviction.Signal
		for _, th := range d.Evict {
			evict = append(evict, th.Signal)
		}
		if diff := cmp.Diff(s.conds, d.Conditions); diff != "" {
			t.Errorf("step %d conditions (-want +got):\n%s", i, diff)
		}
		if diff := cmp.Diff(s.evict, evict); diff != "" {
			t.Errorf("step %d evict (-want +got):\n%s", i, diff)
		}
	}
}

func pod(name string, prio int32, memReq, diskReq string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name)},
		Spec: corev1.PodSpec{Priority: &prio, Containers: []corev1.Container{{Name: "c"}}}}
	req := corev1.ResourceList{}
	if memReq != "" {
		req[corev1.ResourceMemory] = resource.MustParse(memReq)
	}
	if diskReq != "" {
		req[corev1.ResourceEphemeralStorage] = resource.MustParse(diskReq)
	}
	p.Spec.Containers[0].Resources.Requests = req
	if len(req) == 0 {
		p.Status.QOSClass = corev1.PodQOSBestEffort
	} else {
		p.Status.QOSClass = corev1.PodQOSBurstable
	}
	return p
}

// TestRank: upstream's orders for memory, disk and PIDs.
func TestRank(t *testing.T) {
	pods := []*corev1.Pod{
		pod("guaranteed-big", 0, "2Gi", "10Gi"),               // 1Gi used, under its request
		pod("besteffort-small", 0, "", ""),                    // 100Mi used, over (no request)
		pod("besteffort-big", 0, "", ""),                      // 500Mi
		pod("burstable-over-high-prio", 1000, "100Mi", "1Mi"), // 300Mi, over, higher priority
		pod("no-stats", 0, "", ""),
	}
	stats := summary(0, 0, map[string][2]uint64{"guaranteed-big": {1 << 30, 1 << 30}, "besteffort-small": {100 << 20, 3 << 30},
		"besteffort-big": {500 << 20, 1 << 20}, "burstable-over-high-prio": {300 << 20, 2 << 20}})
	names := func(us []eviction.PodUsage) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.Pod.Name)
		}
		return out
	}
	for _, tc := range []struct {
		signal eviction.Signal
		want   []string
	}{
		{eviction.SignalMemoryAvailable, []string{"no-stats", "besteffort-big", "besteffort-small", "burstable-over-high-prio", "guaranteed-big"}},
		{eviction.SignalNodeFsAvailable, []string{"no-stats", "besteffort-small", "besteffort-big", "burstable-over-high-prio", "guaranteed-big"}},
		{eviction.SignalPIDAvailable, []string{"no-stats", "guaranteed-big", "besteffort-big", "besteffort-small", "burstable-over-high-prio"}},
	} {
		t.Run(string(tc.signal), func(t *testing.T) {
			us := eviction.Usage(stats, pods)
			eviction.Rank(tc.signal, us)
			if diff := cmp.Diff(tc.want, names(us)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMessageAndAdmit(t *testing.T) {
	ts, _ := eviction.ParseThresholds("memory.available<2Gi,nodefs.available<10%", "", "")
	s := summary(1<<30, 5<<30, map[string][2]uint64{"be": {300 << 20, 4 << 20}})
	obs := eviction.Observe(s)
	u := eviction.Usage(s, []*corev1.Pod{pod("be", 0, "", "")})[0]
	if got, want := eviction.Message(ts[0], obs, u), "The node was low on resource: memory. Threshold quantity: 2Gi, available: 1Gi. "+
		"Container c was using 300Mi, request is 0, has larger consumption of memory. "; got != want {
		t.Errorf("memory message\n got %q\nwant %q", got, want)
	}
	if got, want := eviction.Message(ts[1], obs, u), "The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 5Gi. "+
		"Container c was using 4Mi, request is 0, has larger consumption of ephemeral-storage. "; got != want {
		t.Errorf("disk message\n got %q\nwant %q", got, want)
	}

	mem := []corev1.NodeConditionType{corev1.NodeMemoryPressure}
	tolerant := pod("tolerant", 0, "", "")
	tolerant.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeMemoryPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	critical := pod("critical", 2000001000, "", "")
	for _, tc := range []struct {
		name  string
		pod   *corev1.Pod
		conds []corev1.NodeConditionType
		admit bool
		msg   string
	}{
		{"no pressure", pod("be", 0, "", ""), nil, true, ""},
		{"best effort under memory pressure", pod("be", 0, "", ""), mem, false, "The node had condition: [MemoryPressure]. "},
		{"burstable under memory pressure", pod("b", 0, "1Mi", ""), mem, true, ""},
		{"best effort tolerating memory pressure", tolerant, mem, true, ""},
		{"disk pressure", pod("b", 0, "1Mi", ""), []corev1.NodeConditionType{corev1.NodeDiskPressure}, false, "The node had condition: [DiskPressure]. "},
		{"critical under disk pressure", critical, []corev1.NodeConditionType{corev1.NodeDiskPressure}, true, ""},
	} {
		if ok, msg := eviction.Admit(tc.pod, tc.conds); ok != tc.admit || msg != tc.msg {
			t.Errorf("%s: admit %v %q, want %v %q", tc.name, ok, msg, tc.admit, tc.msg)
		}
	}
}

// TestManager: rounds with fake statistics evict one pod per round (BestEffort first, never a
// critical pod) with a hard threshold's 1 s grace, set the conditions, and report a failing
// stats source.
func TestManager(t *testing.T) {
	ts, _ := eviction.ParseThresholds("memory.available<2Gi", "", "")
	stats := summary(1<<30, 50<<30, map[string][2]uint64{"be": {100 << 20, 0}, "burst": {200 << 20, 0}, "crit": {1 << 30, 0}})
	crit := pod("crit", 2000000000, "", "")
	pods := []*corev1.Pod{pod("burst", 0, "1Gi", ""), crit, pod("be", 0, "", "")}
	var statsErr error
	type evicted struct {
		name  string
		grace int64
	}
	var got []evicted
	clk := clocktesting.NewFakeClock(time.Unix(1700000000, 0))
	m, err := eviction.NewManager(eviction.Config{Thresholds: ts, Clock: clk,
		Summary:    func(context.Context) (*statsv1alpha1.Summary, error) { return stats, statsErr },
		ActivePods: func() []*corev1.Pod { return pods },
		Evict: func(_ context.Context, p *corev1.Pod, grace int64, msg string) error {
			got = append(got, evicted{p.Name, grace})
			var rest []*corev1.Pod
			for _, o := range pods {
				if o != p {
					rest = append(rest, o)
				}
			}
			pods = rest
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 4 {
		if _, err := m.Synchronize(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]evicted{{"be", 1}, {"burst", 1}}, got, cmp.AllowUnexported(evicted{})); diff != "" {
		t.Errorf("evictions (-want +got):\n%s", diff)
	}
	if c := m.Conditions(); len(c) != 1 || c[0] != corev1.NodeMemoryPressure {
		t.Errorf("conditions %v", c)
	}
	if ok, _ := m.Admit(pod("new", 0, "", "")); ok {
		t.Error("a BestEffort pod was admitted under memory pressure")
	}
	statsErr = errors.New("no runtime")
	if _, err := m.Synchronize(ctx); err == nil || !strings.Contains(err.Error(), "no runtime") {
		t.Errorf("failing stats: %v", err)
	}
}
