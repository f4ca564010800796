package ui_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/apiserver/insight/ui"
	"github.com/skiff-dev/skiff/test/poll"
)

// browser is a headless Chromium driven over the DevTools protocol (one page): what
// --dump-dom and --screenshot do, on one browser for several pages and with the page's script
// running between looks.
type browser struct {
	t    *testing.T
	conn *websocket.Conn
	id   int
}

// startChromium starts Debian's chromium headless. Without it the test is skipped, except in
// CI (SKIFF_CI set, as .ci/run does, which installs it), where it fails.
func startChromium(t *testing.T) *browser {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("SKIFF_CI") != "" {
			t.Fatal("chromium is not installed (.ci/run installs Debian's chromium)")
		}
		t.Skip("chromium is not installed: apt-get install -y chromium to run the browser test")
	}
	profile, err := os.MkdirTemp("", "skiff-ui-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--window-size=1400,1000",
		"--user-data-dir="+profile, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank")
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS=disabled:")
	// Chromium's helper processes go with it: the whole process group is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		_ = os.RemoveAll(profile)
	})
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`DevTools listening on (ws://\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var browserURL string
	select {
	case browserURL = <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("chromium did not open its DevTools port within 30s")
	}
	// The page target's own socket.
	host := strings.TrimPrefix(browserURL, "ws://")
	host = host[:strings.Index(host, "/")]
	var targets []struct{ Type, WebSocketDebuggerURL string }
	resp, err := http.Get("http://" + host + "/json/list")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		if tg.Type == "page" {
			conn, _, err := websocket.DefaultDialer.Dial(tg.WebSocketDebuggerURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			return &browser{t: t, conn: conn}
		}
	}
	t.Fatalf("no page among chromium's targets %+v", targets)
	return nil
}

// call sends one DevTools command and waits for its answer (events in between are dropped).
func (b *browser) call(method string, params any, result any) {
	b.t.Helper()
	b.id++
	if err := b.conn.WriteJSON(map[string]any{"id": b.id, "method": method, "params": params}); err != nil {
		b.t.Fatalf("%s: %v", method, err)
	}
	_ = b.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct{ Message string }
		}
		if err := b.conn.ReadJSON(&msg); err != nil {
			b.t.Fatalf("%s: %v", method, err)
		}
		if msg.ID != b.id {
			continue
		}
		if msg.Error != nil {
			b.t.Fatalf("%s: %s", method, msg.Error.Message)
		}
		if result != nil {
			if err := json.Unmarshal(msg.Result, result); err != nil {
				b.t.Fatalf("%s: %v", method, err)
			}
		}
		return
	}
}

func (b *browser) navigate(url string) {
	b.t.Helper()
	b.call("Page.navigate", map[string]any{"url": url}, nil)
}

// eval is the value of a JavaScript expression in the page.
func (b *browser) eval(expr string) any {
	b.t.Helper()
	var r struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct{ Text string } `json:"exceptionDetails"`
	}
	b.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &r)
	if r.ExceptionDetails != nil {
		return nil
	}
	return r.Result.Value
}

// dom is the page's DOM as HTML (what --dump-dom prints).
func (b *browser) dom() string {
	s, _ := b.eval("document.documentElement.outerHTML").(string)
	return s
}

// screenshot saves the page as a PNG in dir (SKIFF_UI_SCREENSHOTS or the test's temporary
// dir) and checks that it is one of the window's size.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	var r struct{ Data string }
	b.call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &r)
	data, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		b.t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if sz := img.Bounds().Size(); sz.X < 1000 || sz.Y < 500 {
		b.t.Errorf("screenshot %s is %v", name, sz)
	}
	dir := os.Getenv("SKIFF_UI_SCREENSHOTS")
	if dir == "" {
		dir = b.t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// until polls the page until expr is true.
func (b *browser) until(what, expr string) {
	b.t.Helper()
	poll.Until(b.t, 15*time.Second, what, func() error {
		if v, _ := b.eval(expr).(bool); !v {
			return fmt.Errorf("not yet: %s", expr)
		}
		return nil
	})
}

// TestInChromium loads the pages in a headless Chromium: the overview, through `skiff ui`'s
// proxy against a real API server, follows pods being created and deleted; a pod's page with
// fake spans draws the sequence diagram.
func TestInChromium(t *testing.T) {
	b := startChromium(t)
	ctx := context.Background()

	t.Run("the overview follows the watch", func(t *testing.T) {
		s := startWithPod(t)
		proxy, err := ui.NewProxy(s.Config, "s3cret")
		if err != nil {
			t.Fatal(err)
		}
		local := httptest.NewServer(proxy)
		defer func() {
			// The page's watches would keep the server open.
			b.navigate("about:blank")
			local.CloseClientConnections()
			local.Close()
		}()
		b.navigate(ui.SessionURL(strings.TrimPrefix(local.URL, "http://"), "s3cret"))
		rowsHave := func(table, text string) string {
			return fmt.Sprintf(`[...document.querySelectorAll("#%s tbody tr")].some(tr => tr.textContent.includes(%q))`, table, text)
		}
		b.until("the server-rendered rows and a live watch", rowsHave("pods", "web-1")+` && `+rowsHave("nodes", "node-a")+
			` && document.getElementById("live").textContent == "nodes: live · pods: live"`)

		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-2", Namespace: "default"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "busybox"}, {Name: "b", Image: "busybox"}}}}
		if _, err := s.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		b.until("web-2 in the table", rowsHave("pods", "web-2"))
		// The script's row is the server's: name (a link), namespace, phase, node, ready, restarts, age.
		cells := b.eval(`[...[...document.querySelectorAll("#pods tbody tr")].find(tr => tr.textContent.includes("web-2")).cells].slice(0, 6).map(td => td.textContent)`)
		if got := fmt.Sprint(cells); got != "[web-2 default Pending  0/2 0]" {
			t.Errorf("web-2's row %s", got)
		}
		if err := s.Client.CoreV1().Pods("default").Delete(ctx, "web-1", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		b.until("web-1 gone from the table", "!"+rowsHave("pods", "web-1"))
		b.screenshot("overview.png")
		if dom := b.dom(); !strings.Contains(dom, `href="/ui/pods/default/web-2"`) {
			t.Errorf("the overview's DOM lacks web-2's link:\n%s", dom)
		}
	})

	t.Run("a pod's sequence diagram", func(t *testing.T) {
		pages := servePages(t, fakeAPI(t, true, make(chan string, 10)), "alice")
		b.navigate(pages.URL + "/ui/pods/default/web-1")
		b.until("the diagram", `document.querySelectorAll("svg.diagram g.arrow").length > 0`)
		columns := b.eval(`[...document.querySelectorAll("svg.diagram g.column")].map(g => g.dataset.component).join(",")`)
		if columns != strings.Join(ui.Components, ",") {
			t.Errorf("columns %v, want %v", columns, ui.Components)
		}
		// Each arrow's line runs between its two columns' lifelines, and its label tells the span and its duration.
		arrows := b.eval(`[...document.querySelectorAll("svg.diagram g.arrow")].map(g => {
			const col = name => document.querySelector('svg.diagram g.column[data-component="' + name + '"] line').getAttribute("x1");
			const line = g.querySelector("line.call");
			const ok = line ? line.getAttribute("x1") == col(g.dataset.from) && line.getAttribute("x2") == col(g.dataset.to)
			                : g.dataset.from == g.dataset.to && g.querySelector("path.call") != null;
			return g.dataset.from + ">" + g.dataset.to + ":" + g.querySelector("text.label").textContent + ":" + ok;
		}).join("\n")`)
		want := strings.Join([]string{
			"kubectl>apiserver:create pod (12ms):true",
			"apiserver>etcd:etcd txn (4ms):true",
			"apiserver>scheduler:schedule (15ms):true",
			"scheduler>apiserver:bind (4ms):true",
			"apiserver>agent:sync pod (1.36s):true",
			"agent>runtime:start container (1.25s):true",
			"apiserver>controller:reconcile endpoints (6ms):true",
			"apiserver>proxy:program rules (40ms):true",
		}, "\n")
		if arrows != want {
			t.Errorf("arrows:\n%v\nwant:\n%s", arrows, want)
		}
		// The browser laid the SVG out: the labels have a size.
		if w, _ := b.eval(`document.querySelector("svg.diagram g.arrow text.label").getBBox().width`).(float64); w < 20 {
			t.Errorf("the first label is %vpx wide", w)
		}
		dom := b.dom()
		for _, s := range []string{"Pod default/web-1 waited 20ms for the scheduler.", "cpu: requested 2000, free 1000 of 2000", "+  nodeName: node-a"} {
			if !strings.Contains(dom, s) {
				t.Errorf("the pod's page lacks %q", s)
			}
		}
		b.screenshot("pod.png")
	})
}
