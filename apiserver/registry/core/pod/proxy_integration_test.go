package pod_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
)

// pods/proxy reaches the pod's IP and the port named with it, with the request's path and
// query: the "pod" here is an HTTP server on the machine's address, which the pod's status
// names. A loopback pod IP is refused, as upstream.
func TestPodProxy(t *testing.T) {
	// The machine's own non-loopback address stands for the pod IP (loopback is refused).
	var podIP string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			podIP = n.IP.String()
			break
		}
	}
	if podIP == "" {
		t.Fatal("no non-loopback IPv4 address on this machine")
	}
	l, err := net.Listen("tcp", net.JoinHostPort(podIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	backend := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s?%s", r.Method, r.URL.Path, r.URL.RawQuery)
	})}}
	backend.Start()
	defer backend.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())

	s := apiservertest.Start(t)
	ctx := context.Background()
	pod := runningPod(t, s.Client, "default", "web")
	pod.Status.PodIP = "127.0.0.1"
	pod, err = s.Client.CoreV1().Pods("default").UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.CoreV1().Pods("default").ProxyGet("http", "web", port, "/", nil).DoRaw(ctx); err == nil {
		t.Errorf("proxy to a loopback pod IP was allowed")
	}
	pod.Status.PodIP = podIP
	if _, err := s.Client.CoreV1().Pods("default").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Client.CoreV1().Pods("default").ProxyGet("http", "web", port, "/hello/world", map[string]string{"a": "1"}).DoRaw(ctx)
	if err != nil || string(got) != "GET /hello/world?a=1" {
		t.Errorf("proxy GET: %q, %v", got, err)
	}
	res := s.Client.CoreV1().RESTClient().Post().Namespace("default").Resource("pods").Name("web:" + port).SubResource("proxy").Suffix("post").Do(ctx)
	if raw, err := res.Raw(); err != nil || string(raw) != "POST /post?" {
		t.Errorf("proxy POST: %q, %v", raw, err)
	}
	// Without a port in the name: the first port of the first container that has one.
	pod, err = s.Client.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "ported"},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "a", Image: "busybox"},
			{Name: "b", Image: "busybox", Ports: []corev1.ContainerPort{{ContainerPort: int32(portNumber(t, port))}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase, pod.Status.PodIP = corev1.PodRunning, podIP
	if _, err := s.Client.CoreV1().Pods("default").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	raw, err := s.Client.CoreV1().RESTClient().Get().Namespace("default").Resource("pods").Name("ported").SubResource("proxy").DoRaw(ctx)
	if err != nil || string(raw) != "GET /?" {
		t.Errorf("proxy GET without a port: %q, %v", raw, err)
	}
	if _, err := s.Client.CoreV1().Pods("default").ProxyGet("http", "missing", port, "/", nil).DoRaw(ctx); err == nil {
		t.Errorf("proxy to a missing pod succeeded")
	}
}

func portNumber(t *testing.T, port string) int {
	t.Helper()
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
