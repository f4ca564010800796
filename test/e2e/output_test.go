package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// klogLine is the header of a klog line (I1205 07:38:15.123456 ...).
var klogLine = regexp.MustCompile(`(?m)^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+ `)

// TestUpOutput: `skiff up` prints short progress lines and keeps the components' logs in
// <data-dir>/logs/skiff.log, not on the terminal; Skiff's own clients log no deprecation
// warnings (v1 Endpoints) there either.
func TestUpOutput(t *testing.T) {
	dir := t.TempDir()
	s := startSkiffT(t, dir)
	ns := s.namespace(t)
	// The endpoints controller lists, watches and writes v1 Endpoints for this Service.
	s.ok(t, "create", "service", "clusterip", "web", "-n", ns, "--tcp=80:8080")
	eventually(t, 30*time.Second, func() error {
		if out := s.kubectl(t, "get", "endpoints", "web", "-n", ns); out.err != nil {
			return fmt.Errorf("endpoints: %v %s", out.err, out.stderr)
		}
		return nil
	})
	eventually(t, 30*time.Second, func() error {
		b, err := os.ReadFile(s.logPath)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "Cluster DNS is serving") {
			return fmt.Errorf("no DNS progress line yet")
		}
		return nil
	})
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr []string
	for _, line := range strings.Split(string(b), "\n") {
		if l, ok := strings.CutPrefix(line, "stdout: "); ok {
			stdout = append(stdout, l)
		} else if line != "" {
			stderr = append(stderr, line)
		}
	}
	out := strings.Join(stdout, "\n")
	for _, want := range []string{"Logs: " + filepath.Join(dir, "logs", "skiff.log"), "Starting etcd", "API server is ready on https://",
		"Controllers and scheduler started", "Cluster DNS is serving cluster.local", readyPrefix} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if klogLine.MatchString(strings.Join(stderr, "\n")) {
		t.Errorf("component logs on stderr:\n%s", strings.Join(stderr, "\n"))
	}
	logs, err := os.ReadFile(filepath.Join(dir, "logs", "skiff.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !klogLine.Match(logs) {
		t.Errorf("no component logs in logs/skiff.log:\n%.2000s", logs)
	}
	if strings.Contains(string(logs), "is deprecated") {
		for _, l := range strings.Split(string(logs), "\n") {
			if strings.Contains(l, "is deprecated") {
				t.Errorf("Skiff's own clients got a deprecation warning: %s", l)
			}
		}
	}
}

// expectNoEvent fails the test if the namespace has an event with the reason.
func expectNoEvent(t *testing.T, s *skiff, ns, reason string) {
	t.Helper()
	if out := s.ok(t, "get", "events", "-n", ns, "--field-selector", "reason="+reason, "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("%s events in %s:\n%s", reason, ns, s.ok(t, "get", "events", "-n", ns, "--field-selector", "reason="+reason))
	}
}

// expectNodeProgress checks `skiff up`'s progress lines for its local node, in order.
func expectNodeProgress(t *testing.T, s *skiff, node string) {
	t.Helper()
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	at := 0
	for _, want := range []string{"Node " + node + ": preparing the built-in images", "Node " + node + ": starting containerd",
		"Node " + node + ": starting its agent", "Node " + node + " is Ready. Next:"} {
		i := strings.Index(out[at:], want)
		if i < 0 {
			t.Errorf("no progress line %q after offset %d of the output:\n%s", want, at, out)
			return
		}
		at += i + len(want)
	}
}
