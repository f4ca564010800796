// Package netnstest gives tests of Skiff's nftables programs real network namespaces, veths
// and an nft that runs inside a namespace, so that they never touch the machine's own rules.
// Tests send traffic only to the addresses they create, bounded in time.
package netnstest

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

// Netns is a network namespace (a node, a pod, a client).
type Netns struct {
	Name string
	Path string
}

// Require skips unless the test can create network namespaces and run nft.
func Require(t testing.TB) {
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

// Run runs a command and fails the test if it fails.
func Run(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// RandSuffix is 6 random hex digits for unique names.
func RandSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// New makes a network namespace, removed when the test ends.
func New(t testing.TB, prefix string) *Netns {
	t.Helper()
	name := prefix + "-" + RandSuffix()
	Run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	Run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return &Netns{Name: name, Path: "/run/netns/" + name}
}

// NFT returns a knftables.Interface whose nft runs inside ns: knftables runs the "nft" it
// finds on PATH, and a wrapper first on PATH enters the namespace.
func NFT(t testing.TB, ns *Netns, table string) knftables.Interface {
	t.Helper()
	real, err := exec.LookPath("nft")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\nexec nsenter --net=%s %s \"$@\"\n", ns.Path, real)
	if err := os.WriteFile(filepath.Join(dir, "nft"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	nft, err := knftables.New(knftables.IPv4Family, table)
	if err != nil {
		t.Fatalf("nftables in %s: %v", ns.Name, err)
	}
	return nft
}

// In runs fn on an OS thread moved into ns; the thread is discarded afterwards.
func In(ns *Netns, fn func()) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		f, err := os.Open(ns.Path)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns.Name, err)
			return
		}
		fn()
		errc <- nil
	}()
	return <-errc
}

// Serve runs an HTTP server in ns on addr that answers with body; it stops with the test.
func Serve(t testing.TB, ns *Netns, addr, body string) {
	t.Helper()
	var ln net.Listener
	var lerr error
	if err := In(ns, func() { ln, lerr = net.Listen("tcp", addr) }); err != nil {
		t.Fatal(err)
	}
	if lerr != nil {
		t.Fatalf("listen %s in %s: %v", addr, ns.Name, lerr)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, body) }),
		ReadHeaderTimeout: 2 * time.Second}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); wg.Wait() })
}

// Get sends one HTTP/1.0 request from ns to addr and returns the body (bounded by timeout).
func Get(ns *Netns, addr string, timeout time.Duration) (string, error) {
	var body string
	var gerr error
	err := In(ns, func() {
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

// Veth connects ns a (address aAddr) and ns b (bAddr) with a veth pair named aIf/bIf.
func Veth(t testing.TB, a *Netns, aIf, aAddr string, b *Netns, bIf, bAddr string) {
	t.Helper()
	tmp := "skp" + RandSuffix()
	Run(t, "ip", "link", "add", tmp, "type", "veth", "peer", "name", tmp+"p")
	Run(t, "ip", "link", "set", tmp, "netns", a.Name, "name", aIf)
	Run(t, "ip", "link", "set", tmp+"p", "netns", b.Name, "name", bIf)
	Run(t, "ip", "-n", a.Name, "addr", "add", aAddr, "dev", aIf)
	Run(t, "ip", "-n", b.Name, "addr", "add", bAddr, "dev", bIf)
	Run(t, "ip", "-n", a.Name, "link", "set", aIf, "up")
	Run(t, "ip", "-n", b.Name, "link", "set", bIf, "up")
}

// IsRefused reports whether err is a refused connection (an ICMP port-unreachable reject).
func IsRefused(err error) bool { return errors.Is(err, unix.ECONNREFUSED) }
