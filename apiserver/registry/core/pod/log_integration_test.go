package pod_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	restclient "k8s.io/client-go/rest"

	"golang.org/x/net/websocket"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
)

// pods/log answers plain HTTP and websocket requests (binary.k8s.io and base64.binary.k8s.io),
// as upstream's conformance test "should support retrieving logs from the container over
// websockets" reads it: the log comes from the node agent's /containerLogs.
func TestPodLogWebsocket(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	s.FakeNode(t, "log-node", "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/containerLogs/default/logger/main" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "container is alive\n")
	}))
	if _, err := s.Client.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "logger"},
		Spec:       corev1.PodSpec{NodeName: "log-node", Containers: []corev1.Container{{Name: "main", Image: "busybox"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	raw, err := s.Client.CoreV1().Pods("default").GetLogs("logger", &corev1.PodLogOptions{Container: "main"}).DoRaw(ctx)
	if err != nil || string(raw) != "container is alive\n" {
		t.Fatalf("log over HTTP: %q, %v", raw, err)
	}
	u := s.Client.CoreV1().RESTClient().Get().Namespace("default").Resource("pods").Name("logger").Suffix("log").Param("container", "main").URL()
	for _, tc := range []struct{ protocol, want string }{
		{"binary.k8s.io", "container is alive\n"},
		{"base64.binary.k8s.io", "Y29udGFpbmVyIGlzIGFsaXZlCg=="},
	} {
		t.Run(tc.protocol, func(t *testing.T) {
			ws := dialWebsocket(t, s.Config, *u, tc.protocol)
			defer ws.Close()
			var got strings.Builder
			for {
				var msg []byte
				if err := websocket.Message.Receive(ws, &msg); err != nil {
					if err != io.EOF {
						t.Fatalf("reading the websocket: %v", err)
					}
					break
				}
				got.Write(msg)
			}
			if got.String() != tc.want {
				t.Errorf("log over a websocket: %q, want %q", got.String(), tc.want)
			}
		})
	}
}

// dialWebsocket opens a websocket to u with the client's credentials, as upstream's
// e2e framework/websocket.OpenWebSocketForURL.
func dialWebsocket(t *testing.T, cfg *restclient.Config, u url.URL, protocols ...string) *websocket.Conn {
	t.Helper()
	tlsConfig, err := restclient.TLSConfigFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u.Scheme = "wss"
	wc, err := websocket.NewConfig(u.String(), "http://localhost")
	if err != nil {
		t.Fatal(err)
	}
	wc.TlsConfig, wc.Protocol = tlsConfig, protocols
	if cfg.BearerToken != "" {
		wc.Header = http.Header{"Authorization": {"Bearer " + cfg.BearerToken}}
	}
	ws, err := websocket.DialConfig(wc)
	if err != nil {
		t.Fatalf("websocket to %s: %v", u.String(), err)
	}
	return ws
}
