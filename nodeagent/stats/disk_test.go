package stats_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/skiff-dev/skiff/nodeagent/stats"
)

const netDev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 5411944556 11731829    0    0    0     0          0         0 5411944556 11731829    0    0    0     0       0          0
  eth0: 1000 10 2 0 0 0 0 0 3000 30 4 0 0 0 0 0
vethab12: 7 1 0 0 0 0 0 0 8 1 0 0 0 0 0 0
skiff-1: 50 5 0 0 0 0 0 0 60 6 0 0 0 0 0 0
`

const netRoute = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
skiff-1	00AAF40A	00000000	0001	0	0	0	00FFFFFF	0	0	0
eth0	00000000	010200C0	0003	0	0	0	00000000	0	0	0
`

// TestReadHostNetworkAndProcesses reads the interfaces (no loopback nor veth), the default
// route's interface, pid_max and the task count; a host without these files still reads.
func TestReadHostNetworkAndProcesses(t *testing.T) {
	files := fstest.MapFS{"proc/stat": {Data: []byte(procStat)}, "proc/meminfo": {Data: []byte(meminfo)},
		"proc/net/dev": {Data: []byte(netDev)}, "proc/net/route": {Data: []byte(netRoute)},
		"proc/sys/kernel/pid_max": {Data: []byte("4194304\n")}, "proc/loadavg": {Data: []byte("9.72 4.32 3.05 19/212 917\n")}}
	got, err := stats.FSHost{FS: files}.ReadHost()
	if err != nil {
		t.Fatal(err)
	}
	want := []stats.InterfaceCounters{{Name: "eth0", RxBytes: 1000, RxErrors: 2, TxBytes: 3000, TxErrors: 4}, {Name: "skiff-1", RxBytes: 50, TxBytes: 60}}
	if diff := cmp.Diff(want, got.Interfaces); diff != "" {
		t.Errorf("interfaces (-want +got):\n%s", diff)
	}
	if got.DefaultInterface != "eth0" || got.MaxPID != 4194304 || got.Processes != 212 {
		t.Errorf("default %q maxpid %d processes %d", got.DefaultInterface, got.MaxPID, got.Processes)
	}
	delete(files, "proc/net/dev")
	delete(files, "proc/loadavg")
	if got, err = (stats.FSHost{FS: files}).ReadHost(); err != nil || got.Interfaces != nil || got.Processes != 0 {
		t.Errorf("without net/dev and loadavg: %+v, %v", got, err)
	}
}

// TestBuildSummaryDisksAndNetwork pins the storage and network parts of the Summary: nodefs,
// image fs (also the container fs), a container's rootfs from its writable layer on the image
// fs, its logs and the pod's volumes on nodefs, the pod's ephemeral storage (rootfs + logs +
// volumes on disk, not tmpfs), the sandbox's network and processes, the node's interfaces.
func TestBuildSummaryDisksAndNetwork(t *testing.T) {
	host := hostSample()
	host.Interfaces = []stats.InterfaceCounters{{Name: "eth0", RxBytes: 1, TxBytes: 2}, {Name: "eth1", RxBytes: 3, TxBytes: 4}}
	host.DefaultInterface, host.MaxPID, host.Processes = "eth0", 32768, 300
	cri := criFixture()
	ts := time.Unix(1700000100, 0).UnixNano()
	for _, cs := range cri.ContainerStats {
		if cs.Attributes.Id == "c-app-1" {
			cs.WritableLayer = &runtimeapi.FilesystemUsage{Timestamp: ts, UsedBytes: u64(4096), InodesUsed: u64(4)}
		}
	}
	cri.PodStats[0].Linux.Network = &runtimeapi.NetworkUsage{Timestamp: ts,
		DefaultInterface: &runtimeapi.NetworkInterfaceUsage{Name: "eth0", RxBytes: u64(10), RxErrors: u64(0), TxBytes: u64(20), TxErrors: u64(1)}}
	cri.PodStats[0].Linux.Network.Interfaces = []*runtimeapi.NetworkInterfaceUsage{cri.PodStats[0].Linux.Network.DefaultInterface}
	cri.PodStats[0].Linux.Process = &runtimeapi.ProcessUsage{Timestamp: ts, ProcessCount: u64(3)}
	disks := stats.Disks{Time: time.Unix(1700000090, 0),
		NodeFs:  &stats.FsUsage{CapacityBytes: 100 << 30, AvailableBytes: 60 << 30, UsedBytes: 40 << 30, Inodes: 1000, InodesFree: 600, InodesUsed: 400},
		ImageFs: &stats.FsUsage{CapacityBytes: 100 << 30, AvailableBytes: 60 << 30, UsedBytes: 2 << 30, Inodes: 1000, InodesFree: 600, InodesUsed: 50},
		Logs:    map[string]map[string]stats.DirUsage{"uid-web": {"app": {UsedBytes: 8192, InodesUsed: 2}}},
		Volumes: map[string]map[string]stats.DirUsage{"uid-web": {
			"data": {UsedBytes: 1 << 20, InodesUsed: 10}, "cache": {UsedBytes: 512, InodesUsed: 1, Tmpfs: true}}},
	}
	s := stats.BuildSummary("n1", host, cri, disks)

	n := s.Node
	if n.Fs == nil || *n.Fs.AvailableBytes != 60<<30 || *n.Fs.InodesFree != 600 || n.Runtime == nil ||
		*n.Runtime.ImageFs.UsedBytes != 2<<30 || *n.Runtime.ContainerFs.UsedBytes != 2<<30 || *n.Runtime.ImageFs.CapacityBytes != 100<<30 {
		b, _ := json.Marshal(n)
		t.Errorf("node fs: %s", b)
	}
	if n.Network == nil || n.Network.Name != "eth0" || *n.Network.RxBytes != 1 || len(n.Network.Interfaces) != 2 {
		t.Errorf("node network: %+v", n.Network)
	}
	if n.Rlimit == nil || *n.Rlimit.MaxPID != 32768 || *n.Rlimit.NumOfRunningProcesses != 300 {
		t.Errorf("rlimit: %+v", n.Rlimit)
	}

	var web *statsv1alpha1.PodStats
	for i := range s.Pods {
		if s.Pods[i].PodRef.Name == "web" {
			web = &s.Pods[i]
		}
	}
	app := web.Containers[0]
	if app.Rootfs == nil || *app.Rootfs.UsedBytes != 4096 || *app.Rootfs.CapacityBytes != 100<<30 ||
		app.Logs == nil || *app.Logs.UsedBytes != 8192 || *app.Logs.AvailableBytes != 60<<30 {
		b, _ := json.Marshal(app)
		t.Errorf("app container: %s", b)
	}
	if side := web.Containers[1]; side.Rootfs != nil || side.Logs != nil {
		t.Errorf("sidecar without layer or logs: %+v %+v", side.Rootfs, side.Logs)
	}
	var vols []string
	for _, v := range web.VolumeStats {
		vols = append(vols, v.Name)
	}
	if diff := cmp.Diff([]string{"cache", "data"}, vols); diff != "" {
		t.Errorf("volumes (-want +got):\n%s", diff)
	}
	eph := web.EphemeralStorage
	if eph == nil || *eph.UsedBytes != 4096+8192+1<<20 || *eph.InodesUsed != 4+2+10 || *eph.CapacityBytes != 100<<30 {
		b, _ := json.Marshal(eph)
		t.Errorf("ephemeral storage: %s", b)
	}
	if web.Network == nil || web.Network.Name != "eth0" || *web.Network.TxBytes != 20 || *web.Network.TxErrors != 1 ||
		web.ProcessStats == nil || *web.ProcessStats.ProcessCount != 3 {
		t.Errorf("web network %+v processes %+v", web.Network, web.ProcessStats)
	}
	for _, p := range s.Pods {
		if p.PodRef.Name == "job" && (p.EphemeralStorage != nil || p.Network != nil) {
			t.Errorf("job has no disks nor sandbox network: %+v %+v", p.EphemeralStorage, p.Network)
		}
	}
}

// fakeImages answers ImageFsInfo.
type fakeImages struct {
	internalapi.ImageManagerService
	mountpoint string
}

func (f fakeImages) ImageFsInfo(context.Context) (*runtimeapi.ImageFsInfoResponse, error) {
	return &runtimeapi.ImageFsInfoResponse{ImageFilesystems: []*runtimeapi.FilesystemUsage{{
		FsId: &runtimeapi.FilesystemIdentifier{Mountpoint: f.mountpoint}, UsedBytes: u64(12345), InodesUsed: u64(67)}}}, nil
}

// TestProviderDisks reads real directories: the data directory's file system (statfs), the
// image fs from the runtime on its mount point's file system, a pod's log directories and
// volumes measured once per DiskPeriod (a second summary within it walks nothing), and
// forgotten when the pod is gone.
func TestProviderDisks(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	logs, pods := filepath.Join(root, "logs"), filepath.Join(root, "pods")
	write := func(path string, n int) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(logs, "default_web_uid-web", "app", "0.log"), 10000)
	write(filepath.Join(pods, "uid-web", "volumes", "kubernetes.io~empty-dir", "data", "f"), 70000)
	write(filepath.Join(pods, "uid-web", "volumes", "kubernetes.io~configmap", "cfg", "key"), 10)

	rs := &fakeRuntime{errs: map[string]error{}, sandboxes: criFixture().Sandboxes}
	clk := clocktesting.NewFakePassiveClock(time.Unix(1700000100, 0))
	measured := 0
	p, err := stats.NewProvider(stats.Config{NodeName: "n1", Runtime: rs, Host: &stepHost{}, Clock: clk,
		Images: fakeImages{mountpoint: root}, RootDir: root,
		PodDir:    func(uid string) string { return filepath.Join(pods, uid) },
		PodLogDir: func(ns, name, uid string) string { return filepath.Join(logs, ns+"_"+name+"_"+uid) },
		MeasureDir: func(path string) (stats.DirUsage, error) {
			measured++
			return stats.MeasureDir(path)
		},
		DiskPeriod: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Node.Fs == nil || *s.Node.Fs.CapacityBytes == 0 || s.Node.Runtime == nil || *s.Node.Runtime.ImageFs.UsedBytes != 12345 ||
		*s.Node.Runtime.ImageFs.CapacityBytes != *s.Node.Fs.CapacityBytes {
		b, _ := json.Marshal(s.Node)
		t.Fatalf("node: %s", b)
	}
	var web statsv1alpha1.PodStats
	for _, pod := range s.Pods {
		if pod.PodRef.Name == "web" {
			web = pod
		}
	}
	if len(web.VolumeStats) != 2 || web.VolumeStats[0].Name != "cfg" || web.VolumeStats[1].Name != "data" ||
		*web.VolumeStats[1].UsedBytes < 70000 || web.EphemeralStorage == nil || *web.EphemeralStorage.UsedBytes < 70000+10000 {
		b, _ := json.Marshal(web)
		t.Fatalf("web: %s", b)
	}
	if measured != 3 {
		t.Errorf("first summary measured %d directories, want 3", measured)
	}
	clk.SetTime(clk.Now().Add(30 * time.Second))
	if _, err := p.Summary(ctx); err != nil || measured != 3 {
		t.Errorf("within the period: measured %d (want 3), %v", measured, err)
	}
	clk.SetTime(clk.Now().Add(31 * time.Second))
	if _, err := p.Summary(ctx); err != nil || measured != 6 {
		t.Errorf("after the period: measured %d (want 6), %v", measured, err)
	}
}
