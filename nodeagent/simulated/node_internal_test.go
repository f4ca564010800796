package simulated

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/nodeagent/status"
	"github.com/skiff-dev/skiff/test/poll"
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
	a, err := n.allocateIP("a", "")
	if err != nil || a != "10.9.0.2" {
		t.Fatalf("first IP %q %v", a, err)
	}
	if _, err := n.allocateIP("b", ""); err == nil {
		t.Fatal("a /30 gave a second pod IP")
	}
	n.releaseIP("a")
	if b, err := n.allocateIP("b", ""); err != nil || b != "10.9.0.2" {
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

// TestRestartAdoptsRunningPods: a pool started again (its in-memory runtime empty) takes over
// the pods its node ran from their statuses, as a restarted kubelet finds its containers
// running: the next sync writes no status (same IP, container IDs, start times), and a new
// container gets an ID of its own.
func TestRestartAdoptsRunningPods(t *testing.T) {
	n, client, clk := testNode(t, Config{Name: "sim-a", PodCIDR: "10.9.0.0/24"}, sidecarPod())
	first, _ := syncOnce(t, n, sidecarPod())
	running := runPod(t, n, "other")
	if running.Status.PodIP != "10.9.0.3" {
		t.Fatalf("second pod's IP %s, want 10.9.0.3", running.Status.PodIP)
	}

	// The restarted pool: same API, empty runtime.
	pool, err := NewPool(PoolConfig{Client: client, Clock: clk, podSource: fakeSource(), nodeSource: fakeSource()})
	if err != nil {
		t.Fatal(err)
	}
	n2, err := New(Config{Name: "sim-a", PodCIDR: "10.9.0.0/24", Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.add(n2); err != nil {
		t.Fatal(err)
	}
	n2.existed = true // the Node was in the API when the pool started
	// Adopted in the reverse order of their IPs: each keeps its own.
	for _, p := range []*corev1.Pod{running, first} {
		if err := pool.pods.GetIndexer().Update(p); err != nil {
			t.Fatal(err)
		}
		if !pool.rt.adopt(p) {
			t.Fatalf("pod %s not adopted", p.Name)
		}
	}
	clk.Step(time.Minute)
	writes := func() (n int) {
		for _, a := range client.Actions() {
			if a.GetVerb() == "update" && a.GetSubresource() == "status" {
				n++
			}
		}
		return n
	}
	before := writes()
	for _, p := range []*corev1.Pod{running, first} {
		got, _ := syncOnce(t, n2, p)
		if !apiequality.Semantic.DeepEqual(got.Status, p.Status) {
			t.Errorf("pod %s: status changed by the first sync after the restart:\n got %+v\nwant %+v", p.Name, got.Status, p.Status)
		}
	}
	if w := writes() - before; w != 0 {
		t.Errorf("%d status writes after the restart, want none", w)
	}
	if len(pool.rt.adopted) != 0 {
		t.Errorf("adoptions left: %v", pool.rt.adopted)
	}
	// A new pod: a new IP and container IDs unlike the adopted ones.
	got := runPod(t, n2, "third")
	if got.Status.PodIP != "10.9.0.4" {
		t.Errorf("new pod's IP %s, want 10.9.0.4", got.Status.PodIP)
	}
	ids := map[string]bool{}
	for _, p := range []*corev1.Pod{first, running, got} {
		for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			if ids[cs.ContainerID] {
				t.Errorf("container ID %s used twice", cs.ContainerID)
			}
			ids[cs.ContainerID] = true
		}
	}
}

// runPod runs a sidecarPod named name on the node and returns it as the API has it then.
func runPod(t *testing.T, n *Node, name string) *corev1.Pod {
	t.Helper()
	p := sidecarPod()
	p.Name, p.UID = name, types.UID("uid-"+name)
	setPod(t, n, p)
	got, _ := syncOnce(t, n, p)
	return got
}

// TestRestartRenewsLeasesFirst: a node whose Node is in the API when the pool starts (a
// restart) renews its Lease before it registers again, and counts as ready for its pods
// meanwhile.
func TestRestartRenewsLeasesFirst(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "sim-a"}, Spec: corev1.NodeSpec{PodCIDR: "10.9.0.0/24"}}
	client := fake.NewClientset(node)
	nodes := listOnly{&cache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			return &corev1.NodeList{Items: []corev1.Node{*node}}, nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) { return watch.NewFake(), nil },
	}}
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	pool, err := NewPool(PoolConfig{Client: client, Clock: clk, HeartbeatWorkers: 1, podSource: fakeSource(), nodeSource: nodes})
	if err != nil {
		t.Fatal(err)
	}
	n, err := pool.Add(Config{Name: "sim-a"})
	if err != nil {
		t.Fatal(err)
	}
	clk.Step(time.Millisecond) // the pool starts after the nodes were added
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = pool.Start(ctx) }()
	defer func() { cancel(); <-done }()
	// writes are the resources of the pool's writes, in order.
	writes := func() (w []string) {
		for _, a := range client.Actions() {
			if a.GetVerb() == "create" || a.GetVerb() == "update" {
				w = append(w, a.GetResource().Resource+"/"+a.GetSubresource())
			}
		}
		return w
	}
	poll.Eventually(t, "Lease renewed and Node registered", poll.Check(func() (bool, string) {
		w := writes()
		return len(w) >= 3 && n.ready(), fmt.Sprint(w)
	}))
	if w := writes(); w[0] != "leases/" {
		t.Errorf("writes %v: want the Lease first", w)
	}
}
