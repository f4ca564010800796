package simulated

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/nodeagent/status"
)

// fakeSource is a ListerWatcher of nothing (the tests put pods in the informer's store).
func fakeSource() cache.ListerWatcher {
	return listOnly{&cache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) { return &corev1.PodList{}, nil },
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) {
			return watch.NewFake(), nil
		},
	}}
}

// listOnly is a ListerWatcher without streaming lists (WatchList), as fakes are.
type listOnly struct{ *cache.ListWatch }

func (listOnly) IsWatchListSemanticsUnSupported() bool { return true }

// testNode is a registered simulated node of a pool that is not started: the test calls the
// pod workers' functions (syncPod, terminatePod) itself.
func testNode(t *testing.T, cfg Config, objs ...*corev1.Pod) (*Node, *fake.Clientset, *clocktesting.FakeClock) {
	t.Helper()
	client := fake.NewClientset()
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	pool, err := NewPool(PoolConfig{Client: client, Clock: clk, podSource: fakeSource(), nodeSource: fakeSource()})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Pool = pool
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.add(n); err != nil {
		t.Fatal(err)
	}
	n.registered = true
	for _, p := range objs {
		setPod(t, n, p)
	}
	return n, client, clk
}

// setPod puts the pod in the API and the pool's informer store.
func setPod(t *testing.T, n *Node, pod *corev1.Pod) {
	t.Helper()
	client := n.cfg.Client.(*fake.Clientset)
	if _, err := client.CoreV1().Pods(pod.Namespace).Get(context.Background(), pod.Name, metav1.GetOptions{}); err != nil {
		if _, err := client.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	} else if _, err := client.CoreV1().Pods(pod.Namespace).Update(context.Background(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := n.pool.pods.GetIndexer().Update(pod); err != nil {
		t.Fatal(err)
	}
}

// sync runs the pod worker's sync and returns the pod as the API has it then (in the store too).
func syncOnce(t *testing.T, n *Node, pod *corev1.Pod) (*corev1.Pod, bool) {
	t.Helper()
	terminal, err := n.syncPod(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	got, err := n.cfg.Client.CoreV1().Pods(pod.Namespace).Get(context.Background(), pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.pool.pods.GetIndexer().Update(got); err != nil {
		t.Fatal(err)
	}
	return got, terminal
}

func sidecarPod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "uid-web", Generation: 1},
		Spec: corev1.PodSpec{NodeName: "sim-a", RestartPolicy: corev1.RestartPolicyNever,
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox"},
				{Name: "side", Image: "busybox", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}}},
			Containers: []corev1.Container{{Name: "app", Image: "busybox"}}}}
}

// TestPodThroughAgentStatus: a pod on a simulated node is run by kuberuntime on the in-memory
// runtime and its status is status.Generate's for that runtime state (the agent's status code):
// the regular init container completed, the sidecar running, started and ready (its probe
// succeeds), the app container running, the IP the first of the node's pod CIDR, the agent's
// conditions with the pod's generation.
func TestPodThroughAgentStatus(t *testing.T) {
	n, _, clk := testNode(t, Config{Name: "sim-a", PodCIDR: "10.9.0.0/24"}, sidecarPod())
	got, terminal := syncOnce(t, n, sidecarPod())
	if terminal {
		t.Fatal("running pod reported terminal")
	}
	// The same runtime state through the agent's status generation.
	rt, err := n.pool.kr.PodRuntime(context.Background(), "uid-web")
	if err != nil {
		t.Fatal(err)
	}
	want := status.Generate(status.Input{Pod: sidecarPod(), Runtime: rt, Readiness: map[string]bool{"side": true}, Startup: map[string]bool{},
		HostIPs: []string{"127.0.0.1"}, Now: clk.Now()})
	status.ObserveGeneration(&want, 1)
	if !apiequality.Semantic.DeepEqual(got.Status, want) {
		t.Fatalf("status\n got %+v\nwant %+v", got.Status, want)
	}
	st := got.Status
	if st.Phase != corev1.PodRunning || st.PodIP != "10.9.0.2" || len(st.PodIPs) != 1 || st.HostIP != "127.0.0.1" || st.ObservedGeneration != 1 {
		t.Fatalf("phase %s podIP %s podIPs %v hostIP %s observed %d", st.Phase, st.PodIP, st.PodIPs, st.HostIP, st.ObservedGeneration)
	}
	init, side, app := st.InitContainerStatuses[0], st.InitContainerStatuses[1], st.ContainerStatuses[0]
	if init.State.Terminated == nil || init.State.Terminated.ExitCode != 0 || init.State.Terminated.Reason != "Completed" ||
		side.State.Running == nil || !side.Ready || !*side.Started || app.State.Running == nil || !app.Ready ||
		app.ContainerID == "" || app.ContainerID[:len(RuntimeName)+3] != RuntimeName+"://" || app.ImageID == "" {
		t.Fatalf("container statuses init %+v side %+v app %+v", init, side, app)
	}
	for _, c := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		if !hasTrue(st.Conditions, c) {
			t.Errorf("condition %s not True: %+v", c, st.Conditions)
		}
	}
	// A second sync changes nothing (no write, no runtime action).
	again, _ := syncOnce(t, n, got)
	if again.ResourceVersion != got.ResourceVersion {
		t.Errorf("a sync with nothing to do wrote the status")
	}

	t.Run("ephemeral container", func(t *testing.T) {
		p := again.DeepCopy()
		p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", Image: "busybox"}}}
		setPod(t, n, p)
		got, _ := syncOnce(t, n, p)
		es := got.Status.EphemeralContainerStatuses
		if len(es) != 1 || es[0].Name != "dbg" || es[0].State.Running == nil || es[0].Ready || len(got.Status.ContainerStatuses) != 1 ||
			got.Status.ContainerStatuses[0].ContainerID != app.ContainerID {
			t.Fatalf("ephemeral statuses %+v, containers %+v", es, got.Status.ContainerStatuses)
		}
	})

	t.Run("graceful deletion", func(t *testing.T) {
		p, err := n.cfg.Client.CoreV1().Pods("default").Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		now := metav1.NewTime(clk.Now())
		p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, ptr.To[int64](30)
		setPod(t, n, p)
		if err := n.terminatePod(context.Background(), p, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := n.cfg.Client.CoreV1().Pods("default").Get(context.Background(), "web", metav1.GetOptions{}); err == nil {
			t.Error("pod still in the API after its termination")
		}
		if pods, sbs, cs := n.pool.rt.count(); pods+sbs+cs != 0 {
			t.Errorf("runtime keeps %d pods, %d sandboxes, %d containers", pods, sbs, cs)
		}
		if len(n.ips.byPod) != 0 {
			t.Errorf("pod IPs still allocated: %v", n.ips.byPod)
		}
	})
}

// TestCompleteFinitePods: with CompleteFinitePods a pod that does not restart its containers
// succeeds (status.Generate's phase), and its termination stops the sidecar (SIGTERM, 143).
func TestCompleteFinitePods(t *testing.T) {
	n, _, _ := testNode(t, Config{Name: "sim-a", PodCIDR: "10.9.0.0/24", CompleteFinitePods: true}, sidecarPod())
	got, terminal := syncOnce(t, n, sidecarPod())
	if !terminal || got.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("terminal %v phase %s", terminal, got.Status.Phase)
	}
	if app := got.Status.ContainerStatuses[0]; app.State.Terminated == nil || app.State.Terminated.ExitCode != 0 {
		t.Fatalf("app %+v", app)
	}
	if err := n.terminatePod(context.Background(), got, nil); err != nil {
		t.Fatal(err)
	}
	got, err := n.cfg.Client.CoreV1().Pods("default").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	side := got.Status.InitContainerStatuses[1]
	if got.Status.Phase != corev1.PodSucceeded || side.State.Terminated == nil || side.State.Terminated.ExitCode != 143 || side.Ready {
		t.Fatalf("phase %s sidecar %+v", got.Status.Phase, side)
	}
	for _, c := range got.Status.Conditions {
		if c.Type == corev1.PodReady && (c.Status != corev1.ConditionFalse || c.Reason != status.PodCompleted) {
			t.Errorf("Ready %+v", c)
		}
	}
}

// TestIPsFromPodCIDR: each pod gets the next free IP of the node's pod CIDR; a removed pod's
// IP is free again.
func TestIPsFromPodCIDR(t *testing.T) {
	n, _, _ := testNode(t, Config{Name: "sim-a", PodCIDR: "10.9.0.0/30"})
	a, err := n.allocateIP("a")
	if err != nil || a != "10.9.0.2" {
		t.Fatalf("first IP %q %v", a, err)
	}
	if _, err := n.allocateIP("b"); err == nil {
		t.Fatal("a /30 gave a second pod IP")
	}
	n.releaseIP("a")
	if b, err := n.allocateIP("b"); err != nil || b != "10.9.0.2" {
		t.Fatalf("IP after release %q %v", b, err)
	}
}

func hasTrue(cs []corev1.PodCondition, t corev1.PodConditionType) bool {
	for _, c := range cs {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
