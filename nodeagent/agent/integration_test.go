package agent_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/nodeagent/runtime/containerd/containerdtest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllermanager"
	"github.com/skiff-dev/skiff/nodeagent/agent"
	"github.com/skiff-dev/skiff/nodeagent/images"
	"github.com/skiff-dev/skiff/nodeagent/kuberuntime"
	"github.com/skiff-dev/skiff/nodeagent/runtime/containerd"
	"github.com/skiff-dev/skiff/test/poll"
)

// TestAgentWithContainerd runs the agent against a real containerd, the loopback registry, an
// in-process API server and the controllers (scheduler, replicaset). It needs root and the
// packages of hack/install-runtime.sh, and fails (does not skip) without them.
func TestAgentWithContainerd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts containerd")
	}
	containerdtest.Require(t)
	ctrllog.SetLogger(klog.Background())
	testStart := time.Now()
	dir := t.TempDir()

	// Registry with the builtin images.
	reg, refs := containerdtest.Registry(t, dir, filepath.Join("..", ".."))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// API server and controllers.
	srv := apiservertest.Start(t)
	client := srv.Client
	cmCtx, stopCM := context.WithCancel(context.Background())
	cmDone := make(chan error, 1)
	go func() {
		cmDone <- controllermanager.Start(cmCtx, srv.Config, controllermanager.Config{
			Manager: controllers.Options{MetricsBindAddress: "0"}, SkipNameValidation: true,
			NodeMonitorGracePeriod: time.Hour, NodeMonitorPeriod: time.Minute})
	}()
	t.Cleanup(func() { stopCM(); <-cmDone })

	// containerd.
	n := os.Getpid()%200 + 20
	nodeName := fmt.Sprintf("agent-node-%d", os.Getpid())
	ccfg := containerd.Config{
		DataDir:        filepath.Join(dir, "containerd"),
		NodeName:       nodeName,
		PodCIDR:        fmt.Sprintf("10.203.%d.0/24", n),
		SandboxImage:   refs[images.PauseRef],
		RegistryMirror: reg.Addr(),
	}
	_, podNet, _ := net.ParseCIDR(ccfg.PodCIDR)
	c := containerdtest.Start(t, ccfg)
	rs, is := c.RuntimeService(), c.ImageService()

	acfg := agent.Config{
		NodeName: nodeName, Client: client, RuntimeService: rs, ImageService: is,
		DataDir: filepath.Join(dir, "agent"), PodCIDR: ccfg.PodCIDR, NodeIP: "127.0.0.1",
		ClusterDNS:     []string{"10.96.0.10"},
		BackoffInitial: time.Second, BackoffMax: 4 * time.Second,
		ImageBackoffInitial: time.Second, ImageBackoffMax: 4 * time.Second,
		StatusInterval: time.Second, LeaseRenewInterval: time.Second, RelistPeriod: 200 * time.Millisecond,
		SyncRetryPeriod: 500 * time.Millisecond, MinimumGracePeriod: time.Second, ResyncPeriod: 2 * time.Second,
	}
	startAgent := func() (*agent.Agent, func()) {
		a, err := agent.New(acfg)
		if err != nil {
			t.Fatal(err)
		}
		actx, acancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Start(actx) }()
		var once bool
		return a, func() {
			if once {
				return
			}
			once = true
			acancel()
			if err := <-done; err != nil {
				t.Errorf("agent: %v", err)
			}
		}
	}
	ag, stopAgent := startAgent()
	t.Cleanup(func() { stopAgent() })

	// The node registers with real capacity and becomes Ready; its Lease is renewed.
	var node *corev1.Node
	var err error
	poll.Until(t, 30*time.Second, "node Ready", poll.Check(func() (bool, string) {
		node, err = client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, ""
			}
		}
		return false, fmt.Sprintf("conditions %v", node.Status.Conditions)
	}))
	checkNode(t, node, ccfg.PodCIDR)
	poll.Until(t, 10*time.Second, "the node's Lease renewed", poll.Check(func() (bool, string) {
		l, err := client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return *l.Spec.LeaseDurationSeconds == 40 && l.Spec.RenewTime != nil, fmt.Sprintf("%+v", l.Spec)
	}))

	ns := "default"
	busybox, httpImage := refs[images.BusyboxRef], refs[images.HTTPRef]
	mustCreate(t, func() error {
		_, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "greeting"},
			Data: map[string]string{"text": "hello-from-configmap"}}, metav1.CreateOptions{})
		return err
	})
	mustCreate(t, func() error {
		_, err := client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"},
			Data: map[string][]byte{"token": []byte("s3cret-token")}}, metav1.CreateOptions{})
		return err
	})

	// 1. A ReplicaSet's busybox pod: env from a ConfigMap, a secret file, the downward API.
	created := time.Now()
	mustCreate(t, func() error {
		_, err := client.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: "echo"},
			Spec: appsv1.ReplicaSetSpec{
				Replicas: ptr.To[int32](1),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "echo"}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "echo"}},
					Spec: corev1.PodSpec{
						TerminationGracePeriodSeconds: ptr.To[int64](1),
						Containers: []corev1.Container{{
							Name: "main", Image: busybox,
							Command: []string{"sh", "-c", "echo GREETING=$GREETING POD=$POD_NAME IP=$POD_IP; cat /etc/creds/token; echo; cat /etc/podinfo/labels; echo; sleep 3600"},
							Env: []corev1.EnvVar{
								{Name: "GREETING", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
									LocalObjectReference: corev1.LocalObjectReference{Name: "greeting"}, Key: "text"}}},
								{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
								{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
							},
							VolumeMounts: []corev1.VolumeMount{{Name: "creds", MountPath: "/etc/creds"}, {Name: "podinfo", MountPath: "/etc/podinfo"}},
						}},
						Volumes: []corev1.Volume{
							{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}},
							{Name: "podinfo", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
								Items: []corev1.DownwardAPIVolumeFile{{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}},
						},
					},
				},
			},
		}, metav1.CreateOptions{})
		return err
	})
	var echo *corev1.Pod
	poll.Until(t, 30*time.Second, "the echo pod Running and Ready", poll.Check(func() (bool, string) {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=echo"})
		if err != nil || len(pods.Items) != 1 {
			return false, fmt.Sprintf("%v %v", pods, err)
		}
		echo = &pods.Items[0]
		return echo.Status.Phase == corev1.PodRunning && podReady(echo), fmt.Sprintf("phase %s conditions %+v statuses %+v", echo.Status.Phase, echo.Status.Conditions, echo.Status.ContainerStatuses)
	}))
	startLatency := time.Since(created)
	agentLatency, _ := ag.PodStartLatency(echo.UID)
	t.Logf("ReplicaSet pod Running and Ready %s after the ReplicaSet's creation (agent-measured creation→started %s)", startLatency.Round(time.Millisecond), agentLatency)
	if ip := net.ParseIP(echo.Status.PodIP); ip == nil || !podNet.Contains(ip) {
		t.Errorf("podIP %q not in %s", echo.Status.PodIP, podNet)
	}
	if echo.Status.HostIP != "127.0.0.1" {
		t.Errorf("hostIP %q", echo.Status.HostIP)
	}
	logPath := filepath.Join(ag.PodLogDir(echo.Namespace, echo.Name, string(echo.UID)), "main", "0.log")
	if want := filepath.Join(kuberuntime.BuildPodLogsDirectory(ag.PodLogsDir(), echo), "main", "0.log"); logPath != want {
		t.Errorf("PodLogDir gives %s, kuberuntime %s", logPath, want)
	}
	poll.Until(t, 10*time.Second, "the echo pod's log", poll.Check(func() (bool, string) {
		b, _ := os.ReadFile(logPath)
		s := string(b)
		return strings.Contains(s, "GREETING=hello-from-configmap POD="+echo.Name+" IP="+echo.Status.PodIP) &&
			strings.Contains(s, "s3cret-token") && strings.Contains(s, `app="echo"`), s
	}))

	// A changed Secret reaches the mounted file (on the next resync, 2 s here, 1 min by default).
	sec, err := client.CoreV1().Secrets(ns).Get(ctx, "creds", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec.Data["token"] = []byte("rotated-token")
	if _, err := client.CoreV1().Secrets(ns).Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	echoIDs := containersOf(ctx, t, rs, echo.UID)
	poll.Until(t, 15*time.Second, "the rotated Secret in the mounted file", poll.Check(func() (bool, string) {
		out, _, err := rs.ExecSync(ctx, echoIDs[0], []string{"cat", "/etc/creds/token"}, 5*time.Second)
		return err == nil && string(out) == "rotated-token", fmt.Sprintf("%q %v", out, err)
	}))

	// A host-network pod has the node's IP.
	hostPod := createPod(ctx, t, client, ns, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "hostnet"}, Spec: corev1.PodSpec{
		HostNetwork: true, TerminationGracePeriodSeconds: ptr.To[int64](1),
		Containers: []corev1.Container{{Name: "c", Image: busybox, Command: []string{"sleep", "3600"}}}}})
	poll.Until(t, 30*time.Second, "the host-network pod Running with the node's IP", poll.Check(func() (bool, string) {
		p := getPod(ctx, t, client, ns, hostPod.Name)
		return p.Status.Phase == corev1.PodRunning && p.Status.PodIP == "127.0.0.1", fmt.Sprintf("%s %s", p.Status.Phase, p.Status.PodIP)
	}))

	// 2. A crashing container reaches CrashLoopBackOff with a growing restart count.
	crash := createPod(ctx, t, client, ns, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "crash"}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: ptr.To[int64](1),
		Containers: []corev1.Container{{Name: "c", Image: busybox, Command: []string{"sh", "-c", "echo crashing; exit 1"},
			TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError}}}})
	// 3. A liveness probe (exec on a file that goes away) restarts its container.
	live := createPod(ctx, t, client, ns, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "liveness"}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: ptr.To[int64](1),
		Containers: []corev1.Container{{Name: "c", Image: busybox,
			Command: []string{"sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600"},
			LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/healthy"}}},
				PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 5}}}}})
	// 4. A readiness probe (httpGet /healthz of skiff-http) gates Ready.
	web := createPod(ctx, t, client, ns, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: ptr.To[int64](1),
		Containers: []corev1.Container{{Name: "http", Image: httpImage, Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
				PeriodSeconds: 1, FailureThreshold: 1}}}}})
	// 5. A missing image: ErrImagePull / ImagePullBackOff, and the others carry on.
	bad := createPod(ctx, t, client, ns, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bad-image"}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: ptr.To[int64](1),
		Containers:                    []corev1.Container{{Name: "c", Image: reg.Ref("skiff/does-not-exist:latest")}}}})

	// 6. A missing ConfigMap: CreateContainerConfigError with upstream's message, then Running
	// once the ConfigMap exists.
	createPod(ctx, t, client, ns, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "needs-config"}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: ptr.To[int64](1),
		Containers: []corev1.Container{{Name: "c", Image: busybox, Command: []string{"sleep", "3600"},
			EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "later"}}}}}}}})
	poll.Until(t, 30*time.Second, "CreateContainerConfigError of needs-config", poll.Check(func() (bool, string) {
		p := getPod(ctx, t, client, ns, "needs-config")
		if len(p.Status.ContainerStatuses) == 0 {
			return false, "no status"
		}
		w := p.Status.ContainerStatuses[0].State.Waiting
		return w != nil && w.Reason == "CreateContainerConfigError" && w.Message == `configmap "later" not found`, fmt.Sprintf("%+v", p.Status.ContainerStatuses[0].State)
	}))
	mustCreate(t, func() error {
		_, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "later"},
			Data: map[string]string{"X": "1"}}, metav1.CreateOptions{})
		return err
	})
	poll.Until(t, 30*time.Second, "needs-config Running", poll.Check(func() (bool, string) {
		p := getPod(ctx, t, client, ns, "needs-config")
		return p.Status.Phase == corev1.PodRunning, fmt.Sprintf("%+v", p.Status.ContainerStatuses)
	}))

	poll.Until(t, 30*time.Second, "crash in CrashLoopBackOff", poll.Check(func() (bool, string) {
		p := getPod(ctx, t, client, ns, "crash")
		if len(p.Status.ContainerStatuses) == 0 {
			return false, "no status"
		}
		cs := p.Status.ContainerStatuses[0]
		return cs.RestartCount >= 2 && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff" &&
				cs.LastTerminationState.Terminated != nil && cs.LastTerminationState.Terminated.Message == "crashing\n",
			fmt.Sprintf("restarts %d state %+v", cs.RestartCount, cs.State)
	}))
	poll.Until(t, 30*time.Second, "ErrImagePull of bad-image", poll.Check(func() (bool, string) {
		p := getPod(ctx, t, client, ns, "bad-image")
		if len(p.Status.ContainerStatuses) == 0 {
			return false, "no status"
		}
		w := p.Status.ContainerStatuses[0].State.Waiting
		return w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") && p.Status.Phase == corev1.PodPending,
			fmt.Sprintf("%+v", p.Status.ContainerStatuses[0].State)
	}))
	poll.Until(t, 30*time.Second, "liveness restarted", poll.Check(func() (bool, string) {
		p := getPod(ctx, t, client, ns, "liveness")
		if len(p.Status.ContainerStatuses) == 0 {
			return false, "no status"
		}
		return p.Status.ContainerStatuses[0].RestartCount >= 1, fmt.Sprintf("%+v", p.Status.ContainerStatuses[0])
	}))
	var webPod *corev1.Pod
	poll.Until(t, 30*time.Second, "web Ready", poll.Check(func() (bool, string) {
		webPod = getPod(ctx, t, client, ns, "web")
		return podReady(webPod), fmt.Sprintf("%+v", webPod.Status.Conditions)
	}))
	get := func(path string) (string, error) {
		resp, err := http.Get("http://" + net.JoinHostPort(webPod.Status.PodIP, "8080") + path)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if _, err := get("/fail"); err != nil {
		t.Fatalf("GET /fail: %v", err)
	}
	poll.Until(t, 15*time.Second, "web not Ready after /fail", poll.Check(func() (bool, string) {
		p := getPod(ctx, t, client, ns, "web")
		return !podReady(p) && !p.Status.ContainerStatuses[0].Ready && p.Status.ContainerStatuses[0].State.Running != nil, fmt.Sprintf("%+v", p.Status.Conditions)
	}))
	if _, err := get("/recover"); err != nil {
		t.Fatalf("GET /recover: %v", err)
	}
	poll.Until(t, 15*time.Second, "web Ready after /recover", poll.Check(func() (bool, string) {
		p := getPod(ctx, t, client, ns, "web")
		return podReady(p), fmt.Sprintf("%+v", p.Status.Conditions)
	}))

	// Events as the kubelet words them.
	poll.Until(t, 15*time.Second, "the kubelet's events", poll.Check(func() (bool, string) {
		evs, err := client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		want := map[string]bool{
			"echo/Pulling": false, "echo/Pulled": false, "echo/Created": false, "echo/Started": false,
			"crash/BackOff": false, "liveness/Unhealthy": false, "liveness/Killing": false, "bad-image/Failed": false,
		}
		var all []string
		for _, e := range evs.Items {
			if e.Source.Component != "kubelet" || e.Source.Host != nodeName {
				continue
			}
			name := e.InvolvedObject.Name
			if strings.HasPrefix(name, "echo-") {
				name = "echo"
			}
			k := name + "/" + e.Reason
			all = append(all, k+": "+e.Message)
			switch {
			case k == "liveness/Unhealthy" && !strings.HasPrefix(e.Message, "Liveness probe failed:"):
				continue
			case k == "liveness/Killing" && e.Message != "Container c failed liveness probe, will be restarted":
				continue
			case k == "crash/BackOff" && e.Message != "Back-off restarting failed container c in pod crash_default("+string(crash.UID)+")":
				continue
			}
			if _, ok := want[k]; ok {
				want[k] = true
			}
		}
		for k, ok := range want {
			if !ok {
				return false, fmt.Sprintf("no %s event among %q", k, all)
			}
		}
		return true, ""
	}))

	// A pod removed from the API while running (force deletion) is stopped and removed.
	if err := client.CoreV1().Pods(ns).Delete(ctx, hostPod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 20*time.Second, "the force-deleted host-network pod's containers and sandbox removed", poll.Check(func() (bool, string) {
		n := len(containersOf(ctx, t, rs, hostPod.UID)) + len(sandboxesOf(ctx, t, rs, hostPod.UID))
		return n == 0, fmt.Sprintf("%d containers and sandboxes left", n)
	}))

	// 7. Run to completion: an init container fills an emptyDir the app container reads, with
	// the managed /etc/hosts; restartPolicy Never ends in Succeeded, a failing one in Failed.
	// The app container also writes to a claim's local volume (bound here by hand: no PV
	// controller runs), in a subPathExpr of the pod's name; the data outlives the pod.
	claimDir := t.TempDir()
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "done-data"}, Spec: corev1.PersistentVolumeClaimSpec{
		VolumeName: "done-data", AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}}}}
	if claim, err = client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, claim, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	claim.Status.Phase = corev1.ClaimBound
	if _, err := client.CoreV1().PersistentVolumeClaims(ns).UpdateStatus(ctx, claim, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "done-data"},
		Spec: corev1.PersistentVolumeSpec{AccessModes: claim.Spec.AccessModes, Capacity: claim.Spec.Resources.Requests,
			ClaimRef:               &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: ns, Name: claim.Name, UID: claim.UID},
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: claimDir}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{nodeName}}}}}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	done := createPod(ctx, t, client, ns, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "done"}, Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever, TerminationGracePeriodSeconds: ptr.To[int64](1),
		InitContainers: []corev1.Container{{Name: "init", Image: busybox, Command: []string{"sh", "-c", "echo from-init > /work/msg"},
			VolumeMounts: []corev1.VolumeMount{{Name: "work", MountPath: "/work"}}}},
		Containers: []corev1.Container{{Name: "c", Image: busybox, Command: []string{"sh", "-c", "cat /work/msg && grep -q \"$(hostname)\" /etc/hosts && echo hosts-ok && cp /work/msg /data/msg"},
			Env:          []corev1.EnvVar{{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
			VolumeMounts: []corev1.VolumeMount{{Name: "work", MountPath: "/work", ReadOnly: true}, {Name: "data", MountPath: "/data", SubPathExpr: "$(POD_NAME)"}}}},
		Volumes: []corev1.Volume{{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim.Name}}}}}})
	failed := createPod(ctx, t, client, ns, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "failed"}, Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever, TerminationGracePeriodSeconds: ptr.To[int64](1),
		Containers: []corev1.Container{{Name: "c", Image: busybox, Command: []string{"sh", "-c", "echo goodbye > /dev/termination-log; exit 3"},
			TerminationMessagePath: "/dev/termination-log"}}}})
	poll.Until(t, 30*time.Second, "done Succeeded", poll.Check(func() (bool, string) {
		p := getPod(ctx, t, client, ns, done.Name)
		return p.Status.Phase == corev1.PodSucceeded, fmt.Sprintf("%s %+v", p.Status.Phase, p.Status.ContainerStatuses)
	}))
	poll.Until(t, 30*time.Second, "failed Failed with its exit code and message", poll.Check(func() (bool, string) {
		p := getPod(ctx, t, client, ns, failed.Name)
		ok := p.Status.Phase == corev1.PodFailed && len(p.Status.ContainerStatuses) == 1 &&
			p.Status.ContainerStatuses[0].State.Terminated != nil && p.Status.ContainerStatuses[0].State.Terminated.ExitCode == 3 &&
			p.Status.ContainerStatuses[0].State.Terminated.Message == "goodbye\n"
		return ok, fmt.Sprintf("%s %+v", p.Status.Phase, p.Status.ContainerStatuses)
	}))
	doneLog := filepath.Join(kuberuntime.BuildPodLogsDirectory(ag.PodLogsDir(), done), "c", "0.log")
	if b, _ := os.ReadFile(doneLog); !strings.Contains(string(b), "from-init") || !strings.Contains(string(b), "hosts-ok") {
		t.Errorf("log of the completed pod: %q", b)
	}
	if err := client.CoreV1().Pods(ns).Delete(ctx, done.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 20*time.Second, "done deleted with its containers and sandbox", poll.Check(func() (bool, string) {
		_, err := client.CoreV1().Pods(ns).Get(ctx, done.Name, metav1.GetOptions{})
		n := len(containersOf(ctx, t, rs, done.UID)) + len(sandboxesOf(ctx, t, rs, done.UID))
		return apierrors.IsNotFound(err) && n == 0, fmt.Sprintf("%v, %d containers and sandboxes left", err, n)
	}))
	if b, err := os.ReadFile(filepath.Join(claimDir, "done", "msg")); string(b) != "from-init\n" {
		t.Errorf("the claim's data after the pod: %q %v", b, err)
	}

	// 8. Deleting a pod stops and removes its containers, then the object goes away.
	if err := client.CoreV1().Pods(ns).Delete(ctx, "crash", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 20*time.Second, "crash deleted with its containers and sandbox", poll.Check(func() (bool, string) {
		_, err := client.CoreV1().Pods(ns).Get(ctx, "crash", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, fmt.Sprintf("pod still there: %v", err)
		}
		n := len(containersOf(ctx, t, rs, crash.UID)) + len(sandboxesOf(ctx, t, rs, crash.UID))
		return n == 0, fmt.Sprintf("%d containers and sandboxes left", n)
	}))
	for _, d := range []string{kuberuntime.BuildPodLogsDirectory(ag.PodLogsDir(), crash), filepath.Join(acfg.DataDir, "pods", string(crash.UID))} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s left behind after deletion: %v", d, err)
		}
	}

	// The bad image pod is still backing off (the others ran meanwhile); delete it.
	if err := client.CoreV1().Pods(ns).Delete(ctx, bad.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 20*time.Second, "bad-image deleted", poll.Check(func() (bool, string) {
		_, err := client.CoreV1().Pods(ns).Get(ctx, bad.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	}))

	// 9. Restart: the agent stops; a pod is force-deleted meanwhile; the new agent adopts the
	// running containers (no duplicates) and removes the orphan.
	webReadySince := readySince(getPod(ctx, t, client, ns, web.Name))
	stopAgent()
	echoBefore := containersOf(ctx, t, rs, echo.UID)
	webBefore := containersOf(ctx, t, rs, web.UID)
	if err := client.CoreV1().Pods(ns).Delete(ctx, "liveness", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	ag2, stopAgent2 := startAgent()
	t.Cleanup(stopAgent2)
	_ = ag2
	afterCreated := time.Now()
	after := createPod(ctx, t, client, ns, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "after-restart"}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: ptr.To[int64](1),
		Containers:                    []corev1.Container{{Name: "c", Image: busybox, Command: []string{"sleep", "3600"}}}}})
	poll.Until(t, 30*time.Second, "after-restart Running", poll.Check(func() (bool, string) {
		p := getPod(ctx, t, client, ns, after.Name)
		return p.Status.Phase == corev1.PodRunning, string(p.Status.Phase)
	}))
	t.Logf("a pod created right after the agent's restart Running %s after its creation (image present, scheduler included)", time.Since(afterCreated).Round(time.Millisecond))
	poll.Until(t, 15*time.Second, "the orphan liveness pod removed", poll.Check(func() (bool, string) {
		n := len(containersOf(ctx, t, rs, live.UID)) + len(sandboxesOf(ctx, t, rs, live.UID))
		return n == 0, fmt.Sprintf("orphan liveness pod: %d containers and sandboxes left", n)
	}))
	// The restarted agent set up and cleaned up pods again: the claim's data is untouched.
	if b, err := os.ReadFile(filepath.Join(claimDir, "done", "msg")); string(b) != "from-init\n" {
		t.Errorf("the claim's data after the agent's restart: %q %v", b, err)
	}
	if got := containersOf(ctx, t, rs, echo.UID); !sameIDs(got, echoBefore) || len(sandboxesOf(ctx, t, rs, echo.UID)) != 1 {
		t.Errorf("echo containers after restart %v, before %v (sandboxes %d)", got, echoBefore, len(sandboxesOf(ctx, t, rs, echo.UID)))
	}
	if got := readySince(getPod(ctx, t, client, ns, web.Name)); got == nil || webReadySince == nil || !got.Equal(webReadySince) {
		t.Errorf("web pod's Ready changed across the restart: %v, before %v", got, webReadySince)
	}
	if got := containersOf(ctx, t, rs, web.UID); !sameIDs(got, webBefore) {
		t.Errorf("web containers after restart %v, before %v", got, webBefore)
	}
	p := getPod(ctx, t, client, ns, echo.Name)
	if p.Status.Phase != corev1.PodRunning || p.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Errorf("echo after restart: %s, %+v", p.Status.Phase, p.Status.ContainerStatuses)
	}

	// A sync that changes nothing writes no status.
	writes := testutil.ToFloat64(ag2.Metrics().StatusUpdates)
	syncs := histogramCount(t, ag2.Metrics().PodSyncDuration)
	rv := p.ResourceVersion
	p.Annotations = map[string]string{"touched": "yes"}
	if p, err = client.CoreV1().Pods(ns).Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "a sync after the update", poll.Check(func() (bool, string) {
		return histogramCount(t, ag2.Metrics().PodSyncDuration) > syncs, "no sync after the update"
	}))
	if got := testutil.ToFloat64(ag2.Metrics().StatusUpdates); got != writes {
		t.Errorf("status writes went from %v to %v on a sync that changed nothing (rv %s)", writes, got, rv)
	}
	// A spec change (generation 2) is observed: status.observedGeneration and the agent's
	// conditions follow metadata.generation, as the kubelet's.
	if p.Generation != 1 || p.Status.ObservedGeneration != 1 {
		t.Errorf("echo generation %d observed %d, want 1 and 1", p.Generation, p.Status.ObservedGeneration)
	}
	p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "example.com/gen", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
	if p, err = client.CoreV1().Pods(ns).Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "echo's generation 2 observed", poll.Check(func() (bool, string) {
		p = getPod(ctx, t, client, ns, echo.Name)
		if p.Generation != 2 || p.Status.ObservedGeneration != 2 {
			return false, fmt.Sprintf("generation %d observed %d", p.Generation, p.Status.ObservedGeneration)
		}
		for _, c := range p.Status.Conditions {
			if c.ObservedGeneration != 2 {
				return false, fmt.Sprintf("condition %s observed generation %d", c.Type, c.ObservedGeneration)
			}
		}
		return true, ""
	}))

	mfs, err := ag2.Metrics().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, n := range []string{"skiff_agent_pod_start_duration_seconds", "skiff_agent_cri_call_duration_seconds", "skiff_agent_running_pods", "skiff_agent_running_containers"} {
		if !names[n] {
			t.Errorf("metric %s missing (have %v)", n, names)
		}
	}
	// 10. containerd is killed: it is restarted, the CRI clients reconnect, the running pods keep
	// their containers and restart counts, and a new pod runs.
	echoBefore = containersOf(ctx, t, rs, echo.UID)
	pid := c.Pid()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	poll.Until(t, 60*time.Second, "containerd restarted and answering CRI", poll.Check(func() (bool, string) {
		if c.Pid() == pid {
			return false, "containerd not restarted"
		}
		_, err := rs.Version(ctx, "")
		return err == nil, fmt.Sprintf("CRI after the restart: %v", err)
	}))
	t.Logf("containerd answered CRI again %s after kill -9 (restarts %d)", time.Since(killed).Round(time.Millisecond), c.Restarts())
	survivor := createPod(ctx, t, client, ns, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "after-containerd"}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: ptr.To[int64](1),
		Containers:                    []corev1.Container{{Name: "c", Image: busybox, Command: []string{"sleep", "3600"}}}}})
	poll.Until(t, 60*time.Second, "after-containerd Running", poll.Check(func() (bool, string) {
		p := getPod(ctx, t, client, ns, survivor.Name)
		return p.Status.Phase == corev1.PodRunning, string(p.Status.Phase)
	}))
	if got := containersOf(ctx, t, rs, echo.UID); !sameIDs(got, echoBefore) || len(sandboxesOf(ctx, t, rs, echo.UID)) != 1 {
		t.Errorf("echo containers after the containerd restart %v, before %v (sandboxes %d)", got, echoBefore, len(sandboxesOf(ctx, t, rs, echo.UID)))
	}
	if p := getPod(ctx, t, client, ns, echo.Name); p.Status.Phase != corev1.PodRunning || p.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Errorf("echo after the containerd restart: %s, %+v", p.Status.Phase, p.Status.ContainerStatuses)
	}
	t.Logf("whole test %s", time.Since(testStart).Round(time.Millisecond))
}

func histogramCount(t *testing.T, h prometheus.Histogram) uint64 {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

func checkNode(t *testing.T, node *corev1.Node, cidr string) {
	t.Helper()
	st := node.Status
	if st.Capacity.Cpu().Value() < 1 || st.Capacity.Memory().Value() < 1<<20 || st.Capacity.Pods().Value() != 110 || st.Capacity.StorageEphemeral().Value() < 1<<20 {
		t.Errorf("capacity %v", st.Capacity)
	}
	if st.Allocatable.Memory().Cmp(*st.Capacity.Memory()) >= 0 {
		t.Errorf("allocatable memory %v not below capacity %v", st.Allocatable.Memory(), st.Capacity.Memory())
	}
	if !strings.HasPrefix(st.NodeInfo.ContainerRuntimeVersion, "containerd://") || st.NodeInfo.KubeletVersion != agent.KubeletVersion ||
		st.NodeInfo.KernelVersion == "" || st.NodeInfo.OSImage == "" || st.NodeInfo.OperatingSystem != "linux" || st.NodeInfo.Architecture == "" {
		t.Errorf("nodeInfo %+v", st.NodeInfo)
	}
	if node.Spec.PodCIDR != cidr || len(node.Spec.PodCIDRs) != 1 {
		t.Errorf("podCIDR %q %v", node.Spec.PodCIDR, node.Spec.PodCIDRs)
	}
	var internal, hostname bool
	for _, a := range st.Addresses {
		internal = internal || a.Type == corev1.NodeInternalIP && a.Address == "127.0.0.1"
		hostname = hostname || a.Type == corev1.NodeHostName
	}
	if !internal || !hostname {
		t.Errorf("addresses %v", st.Addresses)
	}
	want := map[corev1.NodeConditionType]string{corev1.NodeReady: "KubeletReady", corev1.NodeMemoryPressure: "KubeletHasSufficientMemory",
		corev1.NodeDiskPressure: "KubeletHasNoDiskPressure", corev1.NodePIDPressure: "KubeletHasSufficientPID"}
	for _, c := range st.Conditions {
		if want[c.Type] == c.Reason {
			delete(want, c.Type)
		}
	}
	if len(want) != 0 {
		t.Errorf("conditions %+v lack %v", st.Conditions, want)
	}
}

func readySince(p *corev1.Pod) *metav1.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return &c.LastTransitionTime
		}
	}
	return nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func mustCreate(t *testing.T, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatal(err)
	}
}

func createPod(ctx context.Context, t *testing.T, c kubernetes.Interface, ns string, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	out, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func getPod(ctx context.Context, t *testing.T, c kubernetes.Interface, ns, name string) *corev1.Pod {
	t.Helper()
	p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get pod %s: %v", name, err)
	}
	return p
}

func containersOf(ctx context.Context, t *testing.T, rs cri.RuntimeService, uid types.UID) []string {
	t.Helper()
	cs, err := rs.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: map[string]string{kuberuntime.PodUIDLabel: string(uid)}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.Id)
	}
	return ids
}

func sandboxesOf(ctx context.Context, t *testing.T, rs cri.RuntimeService, uid types.UID) []string {
	t.Helper()
	sbs, err := rs.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{kuberuntime.PodUIDLabel: string(uid)}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range sbs {
		ids = append(ids, s.Id)
	}
	return ids
}

func sameIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, x := range a {
		m[x] = true
	}
	for _, x := range b {
		if !m[x] {
			return false
		}
	}
	return true
}
