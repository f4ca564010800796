package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/nodeagent/runtime/containerd/containerdtest"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/apiserver/pki"
	"github.com/skiff-dev/skiff/nodeagent/images"
	"github.com/skiff-dev/skiff/nodeagent/runtime/containerd"
	"github.com/skiff-dev/skiff/nodeagent/server"
	"github.com/skiff-dev/skiff/test/poll"
)

// TestPodStreams runs a real containerd with a pod of a busybox container printing lines and a
// skiff-http container, the node server on it, and a real API server whose Node points at the
// node server: logs, exec and port-forward work directly against the node server and through
// the API server's pods/log, pods/exec and pods/portforward, with client-go and kubectl. It
// needs root, containerd and kubectl (hack/install-runtime.sh), and fails without them.
func TestPodStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("starts containerd and an API server")
	}
	containerdtest.Require(t)
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Fatalf("kubectl not found: %v", err)
	}
	testStart := time.Now()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The API server (its CA signs the node server's certificates) and the Pod object, whose
	// UID the CRI sandbox carries.
	api := apiservertest.Start(t)
	ca, err := pki.LoadOrCreateCA(filepath.Join(api.DataDir, "pki"), "ca", "skiff-ca")
	if err != nil {
		t.Fatal(err)
	}
	const ns, podName, nodeName = "default", "hello", "stream-node"
	pod, err := api.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: podName},
		Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{
			{Name: "main", Image: images.BusyboxRef},
			{Name: "http", Image: images.HTTPRef, Ports: []corev1.ContainerPort{{ContainerPort: 8080}}},
			{Name: "echo", Image: images.BusyboxRef, Stdin: true, StdinOnce: true},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// The registry, its images and containerd.
	reg, refs := containerdtest.Registry(t, dir, filepath.Join("..", ".."))
	n := os.Getpid()%200 + 1
	cfg := containerd.Config{
		DataDir:        filepath.Join(dir, "containerd"),
		NodeName:       fmt.Sprintf("streams-%d-%d", os.Getpid(), time.Now().UnixNano()),
		PodCIDR:        fmt.Sprintf("10.203.%d.0/24", n),
		SandboxImage:   refs[images.PauseRef],
		RegistryMirror: reg.Addr(),
	}
	c := containerdtest.Start(t, cfg)
	rs, is := c.RuntimeService(), c.ImageService()

	// The pod: sandbox, a busybox printing five lines then sleeping, and skiff-http.
	logRoot := filepath.Join(dir, "pods")
	podLogDir := func(namespace, name, uid string) string {
		return filepath.Join(logRoot, namespace+"_"+name+"_"+uid)
	}
	uid := string(pod.UID)
	if err := os.MkdirAll(podLogDir(ns, podName, uid), 0o755); err != nil {
		t.Fatal(err)
	}
	nsOpts := &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_POD, Pid: runtimeapi.NamespaceMode_CONTAINER, Ipc: runtimeapi.NamespaceMode_POD}
	sc := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: podName, Namespace: ns, Uid: uid},
		Hostname:     podName,
		LogDirectory: podLogDir(ns, podName, uid),
		Labels:       map[string]string{"io.kubernetes.pod.name": podName, "io.kubernetes.pod.namespace": ns, "io.kubernetes.pod.uid": uid},
		Linux:        &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: nsOpts}},
	}
	podID, err := rs.RunPodSandbox(ctx, sc, "")
	if err != nil {
		t.Fatalf("RunPodSandbox: %v\n%s", err, containerdtest.Tail(cfg.LogPath()))
	}
	run := func(name, image string, attempt uint32, stdin bool, command []string, env ...*runtimeapi.KeyValue) {
		imageRef, err := is.PullImage(ctx, &runtimeapi.ImageSpec{Image: image}, nil, nil)
		if err != nil {
			t.Fatalf("PullImage %s: %v", image, err)
		}
		id, err := rs.CreateContainer(ctx, podID, &runtimeapi.ContainerConfig{
			Metadata:  &runtimeapi.ContainerMetadata{Name: name, Attempt: attempt},
			Stdin:     stdin,
			StdinOnce: stdin,
			Image:     &runtimeapi.ImageSpec{Image: imageRef, UserSpecifiedImage: image},
			Command:   command,
			Envs:      env,
			LogPath:   filepath.Join(name, fmt.Sprintf("%d.log", attempt)),
			Labels:    map[string]string{"io.kubernetes.pod.uid": uid, "io.kubernetes.container.name": name, "io.kubernetes.pod.name": podName, "io.kubernetes.pod.namespace": ns},
			Linux:     &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: nsOpts}},
		}, sc)
		if err != nil {
			t.Fatalf("CreateContainer %s: %v", name, err)
		}
		if err := rs.StartContainer(ctx, id); err != nil {
			t.Fatalf("StartContainer %s: %v", name, err)
		}
	}
	run("main", refs[images.BusyboxRef], 0, false, []string{"sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; sleep 0.3; echo oops >&2; sleep 3600"})
	run("http", refs[images.HTTPRef], 0, false, nil, &runtimeapi.KeyValue{Key: "POD_NAME", Value: []byte(podName)}, &runtimeapi.KeyValue{Key: "PORT", Value: []byte("8080")})
	// echo answers its stdin (once: it ends when the first attach closes stdin).
	run("echo", refs[images.BusyboxRef], 0, true, []string{"sh", "-c", "echo ready; while read l; do echo got $l; done; echo bye"})
	t.Logf("containerd, images and pod ready after %s", time.Since(testStart).Round(time.Millisecond))

	// The node server, with a serving certificate of the cluster CA for 127.0.0.1.
	servingCert, servingKey, err := ca.Issue(pki.CertSpec{CommonName: "system:node:" + nodeName, Organization: []string{"system:nodes"},
		Server: true, IPs: []net.IP{net.ParseIP("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	clientCAs := x509.NewCertPool()
	clientCAs.AppendCertsFromPEM(ca.CertPEM)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Listener: l, CertPEM: servingCert, KeyPEM: servingKey, ClientCAs: clientCAs, Runtime: rs, PodLogDir: podLogDir,
		NodeName: nodeName, Client: nodeClient(t, api, ca, nodeName)})
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stopSrv := context.WithCancel(context.Background())
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Start(srvCtx) }()
	t.Cleanup(func() {
		stopSrv()
		if err := <-srvDone; err != nil {
			t.Errorf("node server: %v", err)
		}
	})
	port := srv.Addr().(*net.TCPAddr).Port
	base := "https://127.0.0.1:" + strconv.Itoa(port)

	// A client of the node server with its own certificate of the cluster CA.
	clientCert, clientKey, err := ca.Issue(pki.CertSpec{CommonName: "test-client", Organization: []string{"system:masters"}, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	nodeCfg := &rest.Config{Host: base, TLSClientConfig: rest.TLSClientConfig{CAData: ca.CertPEM, CertData: clientCert, KeyData: clientKey}}
	httpClient, err := rest.HTTPClientFor(nodeCfg)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := httpClient.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	logsPath := "/containerLogs/" + ns + "/" + podName + "/main"
	poll.Until(t, 10*time.Second, "the container's log", poll.Check(func() (bool, string) {
		code, body := get(logsPath)
		return code == http.StatusOK && strings.Contains(body, "oops"), fmt.Sprintf("logs: %d %q", code, body)
	}))

	t.Run("node server logs", func(t *testing.T) {
		if code, body := get(logsPath); code != 200 || body != "line 1\nline 2\nline 3\nline 4\nline 5\noops\n" {
			t.Errorf("all: %d %q", code, body)
		}
		if code, body := get(logsPath + "?tailLines=2"); code != 200 || body != "line 5\noops\n" {
			t.Errorf("tail 2: %d %q", code, body)
		}
		if code, body := get(logsPath + "?tailLines=1&timestamps=true"); code != 200 || !strings.HasSuffix(body, " oops\n") || !timestamped(body) {
			t.Errorf("timestamps: %d %q", code, body)
		}
		if code, body := get(logsPath + "?stream=Stdout&limitBytes=13"); code != 200 || body != "line 1\nline 2" {
			t.Errorf("stdout, 13 bytes: %d %q", code, body)
		}
		if code, body := get(logsPath + "?previous=true"); code != 400 || body != `previous terminated container "main" in pod "hello" not found` {
			t.Errorf("previous: %d %q", code, body)
		}
		if code, body := get("/containerLogs/default/nope/main"); code != 404 || body != `pod "default/nope" does not exist` {
			t.Errorf("missing pod: %d %q", code, body)
		}
		// Follow: the lines so far, then the request ends with its context.
		fctx, fcancel := context.WithCancel(ctx)
		req, _ := http.NewRequestWithContext(fctx, "GET", base+logsPath+"?follow=true&tailLines=1", nil)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || line != "oops\n" {
			t.Errorf("follow: %q, %v", line, err)
		}
		fcancel()
		resp.Body.Close()

		// Without a client certificate: 401.
		anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: clientCAs}}}
		resp, err = anon.Get(base + logsPath)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous: %d", resp.StatusCode)
		}
	})

	t.Run("node server exec", func(t *testing.T) {
		u, _ := url.Parse(base + "/exec/" + ns + "/" + podName + "/main?command=sh&command=-c&command=echo+hi%3B+echo+err+%3E%262&output=1&error=1")
		ex, err := remotecommand.NewSPDYExecutor(nodeCfg, "POST", u)
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}); err != nil {
			t.Fatalf("exec: %v", err)
		}
		if stdout.String() != "hi\n" || stderr.String() != "err\n" {
			t.Errorf("exec: stdout %q stderr %q", stdout.String(), stderr.String())
		}
		// A container that is not running.
		u, _ = url.Parse(base + "/exec/" + ns + "/" + podName + "/nope?command=true&output=1")
		ex, _ = remotecommand.NewSPDYExecutor(nodeCfg, "POST", u)
		err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout})
		if err == nil || !strings.Contains(err.Error(), `container not found ("nope")`) {
			t.Errorf("exec in a missing container: %v", err)
		}
	})

	// The Node the API server proxies to, and the pod Running.
	if _, err := api.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: nodeName},
		Status: corev1.NodeStatus{
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: nodeName}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(port)}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase = corev1.PodRunning
	if _, err := api.Client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := api.Client.CoreV1().Pods(ns)

	t.Run("API server logs", func(t *testing.T) {
		two := int64(2)
		b, err := pods.GetLogs(podName, &corev1.PodLogOptions{Container: "main", TailLines: &two}).DoRaw(ctx)
		if err != nil || string(b) != "line 5\noops\n" {
			t.Errorf("tail 2: %q, %v", b, err)
		}
		// Errors come as Status objects (Stream decodes them; DoRaw does not).
		logsErr := func(opts *corev1.PodLogOptions) error {
			s, err := pods.GetLogs(podName, opts).Stream(ctx)
			if err == nil {
				s.Close()
			}
			return err
		}
		err = logsErr(&corev1.PodLogOptions{})
		if want := "a container name must be specified for pod hello, choose one of: [main http echo]"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("no container: %v, want %q", err, want)
		}
		err = logsErr(&corev1.PodLogOptions{Container: "x"})
		if want := "container x is not valid for pod hello"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("unknown container: %v, want %q", err, want)
		}
		neg := int64(-1)
		err = logsErr(&corev1.PodLogOptions{Container: "main", TailLines: &neg})
		if want := "tailLines: Invalid value: -1: must be greater than or equal to 0"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("negative tail: %v, want %q", err, want)
		}
		err = logsErr(&corev1.PodLogOptions{Container: "main", Previous: true})
		if want := `previous terminated container "main" in pod "hello" not found`; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("previous: %v, want %q", err, want)
		}
		// Follow streams.
		one := int64(1)
		stream, err := pods.GetLogs(podName, &corev1.PodLogOptions{Container: "main", Follow: true, TailLines: &one, Timestamps: true}).Stream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stream).ReadString('\n')
		stream.Close()
		if err != nil || !strings.HasSuffix(line, " oops\n") || !timestamped(line) {
			t.Errorf("follow: %q, %v", line, err)
		}
	})

	t.Run("API server exec", func(t *testing.T) {
		req := api.Client.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name(podName).SubResource("exec").
			VersionedParams(&corev1.PodExecOptions{Container: "main", Command: []string{"sh", "-c", "echo hi; echo err >&2"}, Stdout: true, Stderr: true}, scheme.ParameterCodec)
		for name, newExec := range map[string]func() (remotecommand.Executor, error){
			"spdy": func() (remotecommand.Executor, error) {
				return remotecommand.NewSPDYExecutor(api.Config, "POST", req.URL())
			},
			"websocket": func() (remotecommand.Executor, error) {
				return remotecommand.NewWebSocketExecutor(api.Config, "GET", req.URL().String())
			},
		} {
			ex, err := newExec()
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}); err != nil {
				t.Errorf("%s exec: %v", name, err)
				continue
			}
			if stdout.String() != "hi\n" || stderr.String() != "err\n" {
				t.Errorf("%s exec: stdout %q stderr %q", name, stdout.String(), stderr.String())
			}
		}
		// stdin and a non-zero exit code.
		req = api.Client.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name(podName).SubResource("exec").
			VersionedParams(&corev1.PodExecOptions{Container: "main", Command: []string{"sh", "-c", "cat; exit 3"}, Stdin: true, Stdout: true, Stderr: true}, scheme.ParameterCodec)
		ex, err := remotecommand.NewWebSocketExecutor(api.Config, "GET", req.URL().String())
		if err != nil {
			t.Fatal(err)
		}
		var stdout bytes.Buffer
		err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: strings.NewReader("from stdin\n"), Stdout: &stdout, Stderr: io.Discard})
		if err == nil || !strings.Contains(err.Error(), "exit code 3") || stdout.String() != "from stdin\n" {
			t.Errorf("stdin exec: stdout %q, err %v", stdout.String(), err)
		}
	})

	t.Run("API server port-forward", func(t *testing.T) {
		req := api.Client.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name(podName).SubResource("portforward")
		transport, upgrader, err := spdy.RoundTripperFor(api.Config)
		if err != nil {
			t.Fatal(err)
		}
		spdyDialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, "POST", req.URL())
		wsDialer, err := portforward.NewSPDYOverWebsocketDialer(req.URL(), api.Config)
		if err != nil {
			t.Fatal(err)
		}
		for name, dialer := range map[string]httpstream.Dialer{"spdy": spdyDialer, "websocket": wsDialer} {
			stop, ready := make(chan struct{}), make(chan struct{})
			fw, err := portforward.New(dialer, []string{"0:8080"}, stop, ready, io.Discard, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			errCh := make(chan error, 1)
			go func() { errCh <- fw.ForwardPorts() }()
			select {
			case <-ready:
			case err := <-errCh:
				t.Fatalf("%s port-forward: %v", name, err)
			case <-time.After(10 * time.Second):
				t.Fatalf("%s port-forward not ready", name)
			}
			ports, err := fw.GetPorts()
			if err != nil || len(ports) != 1 {
				t.Fatalf("%s ports: %v %v", name, ports, err)
			}
			body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", ports[0].Local))
			if err != nil || body != podName+"\n" {
				t.Errorf("%s port-forward GET /: %q, %v", name, body, err)
			}
			close(stop)
			<-errCh
		}
	})

	t.Run("API server attach, follow until exit, previous", func(t *testing.T) {
		// A follow of echo's log ends when the container exits after the attach.
		follow, err := pods.GetLogs(podName, &corev1.PodLogOptions{Container: "echo", Follow: true}).Stream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer follow.Close()
		followed := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(follow)
			followed <- string(b)
		}()
		req := api.Client.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name(podName).SubResource("attach").
			VersionedParams(&corev1.PodAttachOptions{Container: "echo", Stdin: true, Stdout: true, Stderr: true}, scheme.ParameterCodec)
		ex, err := remotecommand.NewWebSocketExecutor(api.Config, "GET", req.URL().String())
		if err != nil {
			t.Fatal(err)
		}
		var stdout bytes.Buffer
		if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: strings.NewReader("x\n"), Stdout: &stdout, Stderr: io.Discard}); err != nil {
			t.Errorf("attach: %v", err)
		}
		if !strings.Contains(stdout.String(), "got x\n") {
			t.Errorf("attach stdout %q", stdout.String())
		}
		select {
		case got := <-followed:
			if got != "ready\ngot x\nbye\n" {
				t.Errorf("followed %q", got)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("follow did not end when the container exited")
		}
		// The restarted container (attempt 1): its log, and the previous one's.
		run("echo", refs[images.BusyboxRef], 1, false, []string{"sh", "-c", "echo second; sleep 3600"})
		poll.Until(t, 10*time.Second, "the restarted echo's log", poll.Check(func() (bool, string) {
			b, err := pods.GetLogs(podName, &corev1.PodLogOptions{Container: "echo"}).DoRaw(ctx)
			return err == nil && string(b) == "second\n", fmt.Sprintf("restarted echo: %q, %v", b, err)
		}))
		b, err := pods.GetLogs(podName, &corev1.PodLogOptions{Container: "echo", Previous: true}).DoRaw(ctx)
		if err != nil || string(b) != "ready\ngot x\nbye\n" {
			t.Errorf("previous: %q, %v", b, err)
		}
	})

	t.Run("kubectl", func(t *testing.T) {
		kubectl := func(args ...string) (string, error) {
			cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
			defer ccancel()
			out, err := exec.CommandContext(cctx, "kubectl", append([]string{"--kubeconfig", api.Kubeconfig, "-n", ns}, args...)...).CombinedOutput()
			return string(out), err
		}
		if out, err := kubectl("logs", podName, "-c", "main", "--tail=2"); err != nil || out != "line 5\noops\n" {
			t.Errorf("kubectl logs: %q, %v", out, err)
		}
		if out, err := kubectl("exec", podName, "-c", "nope", "--", "true"); err == nil || !strings.Contains(out, "container nope is not valid for pod hello") {
			t.Errorf("kubectl exec in a missing container: %q, %v", out, err)
		}
		if out, err := kubectl("logs", podName, "-c", "main", "--since=1h", "--timestamps"); err != nil || strings.Count(out, "\n") != 6 || !timestamped(out) {
			t.Errorf("kubectl logs --since --timestamps: %q, %v", out, err)
		}
		if out, err := kubectl("logs", podName, "-c", "echo", "--previous"); err != nil || out != "ready\ngot x\nbye\n" {
			t.Errorf("kubectl logs --previous: %q, %v", out, err)
		}
		if out, err := kubectl("exec", podName, "-c", "main", "--", "echo", "hi"); err != nil || out != "hi\n" {
			t.Errorf("kubectl exec: %q, %v", out, err)
		}
		cmd := exec.CommandContext(ctx, "kubectl", "--kubeconfig", api.Kubeconfig, "-n", ns, "exec", "-i", podName, "-c", "main", "--", "sh", "-c", "read x; echo got $x")
		cmd.Stdin = strings.NewReader("abc\n")
		if out, err := cmd.CombinedOutput(); err != nil || string(out) != "got abc\n" {
			t.Errorf("kubectl exec -i: %q, %v", out, err)
		}
	})
	t.Logf("whole test %s", time.Since(testStart).Round(time.Millisecond))
}

func timestamped(line string) bool {
	ts, _, ok := strings.Cut(line, " ")
	if !ok {
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, ts)
	return err == nil
}

func httpGet(u string) (string, error) {
	resp, err := http.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
