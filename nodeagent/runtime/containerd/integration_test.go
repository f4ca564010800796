package containerd_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/nodeagent/runtime/containerd/containerdtest"

	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff-dev/skiff/nodeagent/images"
	"github.com/skiff-dev/skiff/nodeagent/runtime/containerd"
	"github.com/skiff-dev/skiff/test/poll"
)

// TestCRIPodLifecycle starts a real containerd under a temporary dir, fills Skiff's loopback
// registry with the pause and busybox images, and runs a pod through CRI: pull, sandbox with a
// bridge IP, a busybox container whose log and exec work, then teardown. It needs root and the
// packages of hack/install-runtime.sh, and fails (does not skip) without them.
func TestCRIPodLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts containerd")
	}
	containerdtest.Require(t)
	testStart := time.Now()
	dir := t.TempDir()

	// The registry and its images; they and containerd live until the cleanups.
	t0 := time.Now()
	reg, refs := containerdtest.Registry(t, dir, filepath.Join("..", "..", ".."))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Logf("built and pushed %d images in %s", len(refs), time.Since(t0).Round(time.Millisecond))

	// A subnet and bridge of this run, so concurrent runs and leftovers do not clash.
	n := os.Getpid() % 200
	cfg := containerd.Config{
		DataDir:        filepath.Join(dir, "containerd"),
		NodeName:       fmt.Sprintf("test-node-%d-%d", os.Getpid(), time.Now().UnixNano()),
		PodCIDR:        fmt.Sprintf("10.201.%d.0/24", n),
		SandboxImage:   refs[images.PauseRef],
		RegistryMirror: reg.Addr(),
	}
	_, podNet, _ := net.ParseCIDR(cfg.PodCIDR)

	// A bridge of the same name left behind by an earlier run, with another subnet: pods must
	// still start (the bridge plugin's forceAddress), and cleanup removes it.
	leftover := fmt.Sprintf("10.202.%d.1/24", n)
	for _, args := range [][]string{{"link", "add", "name", cfg.Bridge(), "type", "bridge"}, {"addr", "add", leftover, "dev", cfg.Bridge()}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() { _ = cfg.DeleteBridge() })

	t0 = time.Now()
	c := containerdtest.Start(t, cfg)
	t.Logf("containerd answered CRI in %s", time.Since(t0).Round(time.Millisecond))
	rs, is := c.RuntimeService(), c.ImageService()

	// Pull busybox from the loopback registry (the pause image is pulled by RunPodSandbox).
	busybox := refs[images.BusyboxRef]
	t0 = time.Now()
	imageRef, err := is.PullImage(ctx, &runtimeapi.ImageSpec{Image: busybox}, nil, nil)
	if err != nil {
		t.Fatalf("PullImage %s: %v\n%s", busybox, err, containerdtest.Tail(cfg.LogPath()))
	}
	t.Logf("pulled %s (%s) in %s", busybox, imageRef, time.Since(t0).Round(time.Millisecond))

	uid := fmt.Sprintf("uid-%d", time.Now().UnixNano())
	logDir := filepath.Join(dir, "pods", uid)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	sandboxConfig := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "hello", Namespace: "default", Uid: uid},
		Hostname:     "hello",
		LogDirectory: logDir,
		DnsConfig: &runtimeapi.DNSConfig{
			Servers:  []string{"10.96.0.10"},
			Searches: []string{"default.svc.cluster.local", "svc.cluster.local", "cluster.local"},
			Options:  []string{"ndots:5"},
		},
		Labels:      map[string]string{"io.kubernetes.pod.name": "hello", "io.kubernetes.pod.namespace": "default", "io.kubernetes.pod.uid": uid},
		Annotations: map[string]string{"skiff.dev/test": "true"},
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{
					Network: runtimeapi.NamespaceMode_POD,
					Pid:     runtimeapi.NamespaceMode_CONTAINER,
					Ipc:     runtimeapi.NamespaceMode_POD,
				},
				Seccomp: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined},
			},
			Sysctls: map[string]string{},
		},
	}
	t0 = time.Now()
	podID, err := rs.RunPodSandbox(ctx, sandboxConfig, "")
	if err != nil {
		t.Fatalf("RunPodSandbox: %v\n%s", err, containerdtest.Tail(cfg.LogPath()))
	}
	sandboxTime := time.Since(t0)
	st, err := rs.PodSandboxStatus(ctx, podID, false)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Fatalf("sandbox state %s", st.Status.State)
	}
	ip := net.ParseIP(st.GetStatus().GetNetwork().GetIp())
	if ip == nil || !podNet.Contains(ip) {
		t.Fatalf("sandbox IP %q not in %s", st.GetStatus().GetNetwork().GetIp(), podNet)
	}
	t.Logf("sandbox %.12s ready in %s with IP %s on bridge %s", podID, sandboxTime.Round(time.Millisecond), ip, cfg.Bridge())
	if _, err := net.InterfaceByName(cfg.Bridge()); err != nil {
		t.Errorf("bridge %s: %v", cfg.Bridge(), err)
	}

	containerConfig := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "main"},
		Image:    &runtimeapi.ImageSpec{Image: imageRef, UserSpecifiedImage: busybox},
		Command:  []string{"sh", "-c", "echo hello; cat /etc/resolv.conf; hostname; sleep 3600"},
		Envs:     []*runtimeapi.KeyValue{{Key: "GREETING", Value: []byte("hi")}},
		LogPath:  "main/0.log",
		Labels:   map[string]string{"io.kubernetes.container.name": "main"},
		Linux: &runtimeapi.LinuxContainerConfig{
			SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				NamespaceOptions: sandboxConfig.Linux.SecurityContext.NamespaceOptions,
				Seccomp:          &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined},
			},
		},
	}
	t0 = time.Now()
	ctrID, err := rs.CreateContainer(ctx, podID, containerConfig, sandboxConfig)
	if err != nil {
		t.Fatalf("CreateContainer: %v\n%s", err, containerdtest.Tail(cfg.LogPath()))
	}
	if err := rs.StartContainer(ctx, ctrID); err != nil {
		t.Fatalf("StartContainer: %v\n%s", err, containerdtest.Tail(cfg.LogPath()))
	}
	containerTime := time.Since(t0)
	t.Logf("container %.12s created and started in %s", ctrID, containerTime.Round(time.Millisecond))

	// The log file, in CRI format ("<time> stdout F hello").
	logPath := filepath.Join(logDir, "main", "0.log")
	var logText string
	poll.Until(t, 10*time.Second, "hello and resolv.conf in the log", poll.Check(func() (bool, string) {
		b, _ := os.ReadFile(logPath)
		logText = string(b)
		return strings.Contains(logText, " stdout F hello\n") && strings.Contains(logText, "ndots:5"),
			fmt.Sprintf("log %s has no hello and resolv.conf: %q", logPath, logText)
	}))
	for _, want := range []string{"nameserver 10.96.0.10", "search default.svc.cluster.local"} {
		if !strings.Contains(logText, want) {
			t.Errorf("resolv.conf in the log lacks %q: %q", want, logText)
		}
	}
	if !strings.Contains(logText, " stdout F hello\n") {
		t.Errorf("hostname not hello: %q", logText)
	}

	cst, err := rs.ContainerStatus(ctx, ctrID, false)
	if err != nil {
		t.Fatal(err)
	}
	if cst.Status.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("container state %s", cst.Status.State)
	}

	stdout, stderr, err := rs.ExecSync(ctx, ctrID, []string{"sh", "-c", "echo $GREETING; ip -4 addr show eth0"}, 10*time.Second)
	if err != nil {
		t.Fatalf("ExecSync: %v (stderr %q)", err, stderr)
	}
	if !strings.HasPrefix(string(stdout), "hi\n") || !strings.Contains(string(stdout), ip.String()+"/") {
		t.Errorf("ExecSync stdout %q, want hi and the pod IP %s", stdout, ip)
	}

	// A second pod, skiff-http, reached from the first over the bridge. Its sandbox starts warm
	// (the pause image is already pulled).
	webPod, webIP, webStart := runHTTPPod(ctx, t, rs, is, refs[images.HTTPRef], dir, sandboxConfig.DnsConfig, podNet)
	t.Logf("second sandbox (warm) + skiff-http container running in %s with IP %s", webStart.Round(time.Millisecond), webIP)
	wget := func(path string) (string, error) {
		out, stderr, err := rs.ExecSync(ctx, ctrID, []string{"wget", "-q", "-O", "-", "http://" + net.JoinHostPort(webIP.String(), "8080") + path}, 10*time.Second)
		if err != nil {
			return string(out), fmt.Errorf("%v: %s", err, stderr)
		}
		return string(out), nil
	}
	poll.Until(t, 10*time.Second, "pod to pod GET / on "+webIP.String(), poll.Check(func() (bool, string) {
		out, err := wget("/")
		return err == nil && out == "web\n", fmt.Sprintf("%q, %v", out, err)
	}))
	if out, err := wget("/healthz"); err != nil || out != "ok\n" {
		t.Errorf("/healthz before /fail: %q, %v", out, err)
	}
	if _, err := wget("/fail"); err != nil {
		t.Errorf("/fail: %v", err)
	}
	if out, err := wget("/healthz"); err == nil {
		t.Errorf("/healthz after /fail answered %q, want an error", out)
	}
	if err := rs.StopPodSandbox(ctx, webPod); err != nil {
		t.Fatalf("StopPodSandbox %s: %v", webPod, err)
	}
	if err := rs.RemovePodSandbox(ctx, webPod); err != nil {
		t.Fatalf("RemovePodSandbox %s: %v", webPod, err)
	}

	// Teardown in the kubelet's order.
	t0 = time.Now()
	if err := rs.StopContainer(ctx, ctrID, 2); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	stopTime := time.Since(t0)
	if err := rs.RemoveContainer(ctx, ctrID); err != nil {
		t.Fatalf("RemoveContainer: %v", err)
	}
	if err := rs.StopPodSandbox(ctx, podID); err != nil {
		t.Fatalf("StopPodSandbox: %v", err)
	}
	if err := rs.RemovePodSandbox(ctx, podID); err != nil {
		t.Fatalf("RemovePodSandbox: %v", err)
	}
	left, err := rs.ListPodSandbox(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("%d sandboxes left after removal", len(left))
	}
	t.Logf("stopped the container in %s (sh ignores SIGTERM as PID 1: SIGKILL after the 2 s grace)", stopTime.Round(time.Millisecond))
	t.Logf("whole test %s", time.Since(testStart).Round(time.Millisecond))
}

// runHTTPPod runs a pod "web" with one skiff-http container and returns the sandbox ID, its IP
// and how long sandbox and container took to start.
func runHTTPPod(ctx context.Context, t *testing.T, rs internalapi.RuntimeService, is internalapi.ImageManagerService, image, dir string, dns *runtimeapi.DNSConfig, podNet *net.IPNet) (string, net.IP, time.Duration) {
	t.Helper()
	imageRef, err := is.PullImage(ctx, &runtimeapi.ImageSpec{Image: image}, nil, nil)
	if err != nil {
		t.Fatalf("PullImage %s: %v", image, err)
	}
	uid := fmt.Sprintf("uid-web-%d", time.Now().UnixNano())
	logDir := filepath.Join(dir, "pods", uid)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ns := &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_POD, Pid: runtimeapi.NamespaceMode_CONTAINER, Ipc: runtimeapi.NamespaceMode_POD}
	sc := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: uid},
		Hostname:     "web",
		LogDirectory: logDir,
		DnsConfig:    dns,
		Linux:        &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: ns}},
	}
	t0 := time.Now()
	podID, err := rs.RunPodSandbox(ctx, sc, "")
	if err != nil {
		t.Fatalf("RunPodSandbox web: %v", err)
	}
	t.Logf("second sandbox (pause image already pulled) ready in %s", time.Since(t0).Round(time.Millisecond))
	ctrID, err := rs.CreateContainer(ctx, podID, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "http"},
		Image:    &runtimeapi.ImageSpec{Image: imageRef, UserSpecifiedImage: image},
		Envs:     []*runtimeapi.KeyValue{{Key: "POD_NAME", Value: []byte("web")}, {Key: "PORT", Value: []byte("8080")}},
		LogPath:  "http/0.log",
		Linux:    &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: ns}},
	}, sc)
	if err != nil {
		t.Fatalf("CreateContainer http: %v", err)
	}
	if err := rs.StartContainer(ctx, ctrID); err != nil {
		t.Fatalf("StartContainer http: %v", err)
	}
	took := time.Since(t0)
	st, err := rs.PodSandboxStatus(ctx, podID, false)
	if err != nil {
		t.Fatal(err)
	}
	ip := net.ParseIP(st.GetStatus().GetNetwork().GetIp())
	if ip == nil || !podNet.Contains(ip) {
		t.Fatalf("web sandbox IP %q not in %s", st.GetStatus().GetNetwork().GetIp(), podNet)
	}
	return podID, ip, took
}
