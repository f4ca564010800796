// Package chromium drives a headless Chromium (Debian's chromium package) over the DevTools
// protocol for the tests of Skiff's web pages (apiserver/insight/ui's, and the real-node e2e of
// the pod page): what --dump-dom and --screenshot do, on one browser for several pages and with
// the page's script running between looks. Checks are on content (the DOM, values computed in
// the page), never on pixels; screenshots are saved for people to look at.
//
// Without chromium on the PATH a test is skipped, except in CI (SKIFF_CI set, as .ci/run does,
// which installs it), where it fails.
package chromium

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/skiff-dev/skiff/test/poll"
)

// Browser is one page of a headless Chromium, used by one test at a time (For gives a subtest
// its own handle on the same page).
type Browser struct {
	t    testing.TB
	page *page
}

// page is the DevTools connection of the browser's page, shared by the handles.
type page struct {
	mu   sync.Mutex
	conn *websocket.Conn
	id   int
}

// Start starts chromium headless with a fresh profile, a 1400x1000 window and any extra flags
// (--ignore-certificate-errors for an API server's own CA); it is stopped (with its helper
// processes) when t ends.
func Start(t testing.TB, extra ...string) *Browser {
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
	profile, err := os.MkdirTemp("", "skiff-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--window-size=1400,1000",
		"--user-data-dir=" + profile, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"}, extra...)
	cmd := exec.CommandContext(ctx, path, append(args, "about:blank")...)
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
			return &Browser{t: t, page: &page{conn: conn}}
		}
	}
	t.Fatalf("no page among chromium's targets %+v", targets)
	return nil
}

// For is a handle on the same page that reports to t (a subtest).
func (b *Browser) For(t testing.TB) *Browser { return &Browser{t: t, page: b.page} }

// call sends one DevTools command and waits for its answer (events in between are dropped).
func (b *Browser) call(method string, params any, result any) {
	b.t.Helper()
	p := b.page
	p.mu.Lock()
	defer p.mu.Unlock()
	p.id++
	if err := p.conn.WriteJSON(map[string]any{"id": p.id, "method": method, "params": params}); err != nil {
		b.t.Fatalf("%s: %v", method, err)
	}
	_ = p.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct{ Message string }
		}
		if err := p.conn.ReadJSON(&msg); err != nil {
			b.t.Fatalf("%s: %v", method, err)
		}
		if msg.ID != p.id {
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

// Navigate loads url in the page (without waiting for it: see Until).
func (b *Browser) Navigate(url string) {
	b.t.Helper()
	b.call("Page.navigate", map[string]any{"url": url}, nil)
}

// Eval is the value of a JavaScript expression in the page (nil when it throws).
func (b *Browser) Eval(expr string) any {
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

// DOM is the page's DOM as HTML (what --dump-dom prints).
func (b *Browser) DOM() string {
	s, _ := b.Eval("document.documentElement.outerHTML").(string)
	return s
}

// Screenshot saves the whole page as a PNG named name in SKIFF_UI_SCREENSHOTS, else in the
// test's temporary dir, checks that it is at least the window's width and half its height, and
// returns its path.
func (b *Browser) Screenshot(name string) string {
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
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return path
}

// Until polls the page until the JavaScript expression expr is true (15 s at most).
func (b *Browser) Until(what, expr string) {
	b.t.Helper()
	poll.Until(b.t, 15*time.Second, what, func() error {
		if v, _ := b.Eval(expr).(bool); !v {
			return fmt.Errorf("not yet: %s", expr)
		}
		return nil
	})
}
