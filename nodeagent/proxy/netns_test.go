package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"sigs.k8s.io/knftables"
)

// netnsEnv is a network namespace ("the node") in which the proxy's nft commands run, so
// that tests with real nftables never touch the machine's own rules.
type netnsEnv struct {
	name string
	path string
}

// requireNetns skips unless the test can create network namespaces and run nft.
func requireNetns(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and nftables")
	}
	for _, bin := range []string{"ip", "nft", "nsenter"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s: %v", bin, err)
		}
	}
}

func run(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func randSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newNetns makes a network namespace, removed when the test ends.
func newNetns(t testing.TB, prefix string) *netnsEnv {
	t.Helper()
	name := prefix + "-" + randSuffix()
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return &netnsEnv{name: name, path: "/run/netns/" + name}
}

// nftIn returns a knftables.Interface whose nft runs inside ns: knftables runs the "nft" it
// finds on PATH, and a wrapper first on PATH enters the namespace.
func nftIn(t testing.TB, ns *netnsEnv, table string) knftables.Interface {
	t.Helper()
	real, err := exec.LookPath("nft")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\nexec nsenter --net=%s %s \"$@\"\n", ns.path, real)
	if err := os.WriteFile(filepath.Join(dir, "nft"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	nft, err := knftables.New(knftables.IPv4Family, table)
	if err != nil {
		t.Fatalf("nftables in %s: %v", ns.name, err)
	}
	return nft
}

// inNetns runs fn on an OS thread moved into ns; the thread is discarded afterwards.
func inNetns(ns *netnsEnv, fn func()) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		f, err := os.Open(ns.path)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns.name, err)
			return
		}
		fn()
		errc <- nil
	}()
	return <-errc
}

// serveIn runs an HTTP server in ns on addr that answers with body; it stops with the test.
func serveIn(t testing.TB, ns *netnsEnv, addr, body string) {
	t.Helper()
	var ln net.Listener
	var lerr error
	if err := inNetns(ns, func() { ln, lerr = net.Listen("tcp", addr) }); err != nil {
		t.Fatal(err)
	}
	if lerr != nil {
		t.Fatalf("listen %s in %s: %v", addr, ns.name, lerr)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, body) }),
		ReadHeaderTimeout: 2 * time.Second}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); wg.Wait() })
}

// get sends one HTTP/1.0 request from ns to addr and returns the body (bounded by timeout).
func get(ns *netnsEnv, addr string, timeout time.Duration) (string, error) {
	var body string
	var gerr error
	err := inNetns(ns, func() {
		conn, err := net.DialTimeout("tcp", addr, timeout)
		if err != nil {
			gerr = err
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(timeout))
		if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\nHost: x\r\n\r\n"); err != nil {
			gerr = err
			return
		}
		b, err := io.ReadAll(conn)
		if err != nil {
			gerr = err
			return
		}
		resp := string(b)
		i := strings.Index(resp, "\r\n\r\n")
		if i < 0 || !strings.HasPrefix(resp, "HTTP/1.") {
			gerr = fmt.Errorf("bad response %q", resp)
			return
		}
		body = resp[i+4:]
	})
	if err != nil {
		return "", err
	}
	return body, gerr
}

// veth connects ns a (address aAddr) and ns b (bAddr) with a veth pair named aIf/bIf.
func veth(t testing.TB, a *netnsEnv, aIf, aAddr string, b *netnsEnv, bIf, bAddr string) {
	t.Helper()
	tmp := "skp" + randSuffix()
	run(t, "ip", "link", "add", tmp, "type", "veth", "peer", "name", tmp+"p")
	run(t, "ip", "link", "set", tmp, "netns", a.name, "name", aIf)
	run(t, "ip", "link", "set", tmp+"p", "netns", b.name, "name", bIf)
	run(t, "ip", "-n", a.name, "addr", "add", aAddr, "dev", aIf)
	run(t, "ip", "-n", b.name, "addr", "add", bAddr, "dev", bIf)
	run(t, "ip", "-n", a.name, "link", "set", aIf, "up")
	run(t, "ip", "-n", b.name, "link", "set", bIf, "up")
}

// isRefused reports whether err is a refused connection (an ICMP port-unreachable reject).
func isRefused(err error) bool { return errors.Is(err, unix.ECONNREFUSED) }
