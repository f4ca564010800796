package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
)

// lineWriter passes what the command prints to a channel, line by line.
type lineWriter struct {
	mu    sync.Mutex
	buf   string
	lines chan string
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf += string(b)
	for {
		i := strings.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		w.lines <- w.buf[:i]
		w.buf = w.buf[i+1:]
	}
}

// TestUICommand: `skiff ui --kubeconfig K` prints an address on 127.0.0.1 that serves the API
// server's pages with K's credentials to the browser that opens it, until interrupted.
func TestUICommand(t *testing.T) {
	s := apiservertest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lineWriter{lines: make(chan string, 10)}
	cmd := newUICommand()
	cmd.SetArgs([]string{"--kubeconfig", s.Kubeconfig, "--open=false"})
	cmd.SetOut(out)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	var line string
	select {
	case line = <-out.lines:
	case err := <-done:
		t.Fatalf("skiff ui ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("skiff ui printed nothing within 30s")
	}
	url := regexp.MustCompile(`http://127\.0\.0\.1:\d+/ui/\?session=[0-9a-f]{32}`).FindString(line)
	if url == "" {
		t.Fatalf("no address in %q", line)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := browser.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `<table id="pods"`) || resp.Request.URL.RawQuery != "" {
		t.Errorf("GET %s: %d at %s\n%s", url, resp.StatusCode, resp.Request.URL, body)
	}
	// Without the session's cookie: refused.
	resp, err = http.Get(strings.Split(url, "?")[0])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET without the session: %d, want 403", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("skiff ui: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("skiff ui did not stop within 10s of its context")
	}
}
