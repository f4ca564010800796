package e2e

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/test/poll"
)

// lineNumber is n of a log line "... n=<n> 000...".
var lineNumber = regexp.MustCompile(`\bn=(\d+) `)

// logNumbers returns the first and last n of the lines of a log file (gzipped when it ends in
// .gz), which must all be CRI log lines.
func logNumbers(t *testing.T, path string) (first, last int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		sc = bufio.NewScanner(zr)
	}
	first = -1
	for sc.Scan() {
		l := sc.Text()
		if f := strings.Fields(l); len(f) < 3 || f[1] != "stdout" {
			t.Fatalf("%s: not a CRI log line: %q", path, l)
		}
		m := lineNumber.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		if first < 0 {
			first = n
		}
		last = n
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return first, last
}

// TestContainerLogRotation runs a node with --container-log-max-size=100Ki and
// --container-log-max-files=3 and a pod writing about 100 KiB of log a second: its log file is
// rotated as the kubelet's (0.log.<timestamp>, older ones gzipped, never more than 3 files),
// `kubectl logs` answers from the current file with the newest lines, and a followed
// `kubectl logs -f` goes on across a rotation.
func TestContainerLogRotation(t *testing.T) {
	longScenario(t)
	dir := t.TempDir()
	s := startNodeT(t, dir, "hk-node", "10.244.227.0/24", "--container-log-max-size=100Ki", "--container-log-max-files=3")
	ns := s.namespace(t)
	// Pods outlive their node: the pod goes before the cluster stops.
	t.Cleanup(func() { s.kubectl(t, "delete", "pods", "--all", "-n", ns, "--grace-period=1", "--timeout=60s") })
	script := `i=0; pad=$(printf '%090d' 0); while true; do j=0; while [ $j -lt 100 ]; do echo "n=$i $pad"; i=$((i+1)); j=$((j+1)); done; sleep 0.1; done`
	s.ok(t, "run", "logger", "-n", ns, "--image=busybox", "--restart=Never", "--", "sh", "-c", script)
	s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/logger", "--timeout=120s")
	uid := s.ok(t, "get", "pod", "logger", "-n", ns, "-o", "jsonpath={.metadata.uid}")
	logDir := filepath.Join(dir, "node", "agent", "pod-logs", ns+"_logger_"+strings.TrimSpace(uid), "logger")

	// files lists the log's files, oldest first (the current 0.log last); a compression's .tmp
	// file is left out.
	files := func() (rotated []string, err error) {
		entries, err := os.ReadDir(logDir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if n := e.Name(); strings.HasPrefix(n, "0.log.") && !strings.HasSuffix(n, ".tmp") {
				rotated = append(rotated, n)
			}
		}
		sort.Strings(rotated)
		if len(rotated)+1 > 3 {
			t.Fatalf("more than --container-log-max-files=3 files: %v and 0.log", rotated)
		}
		return rotated, nil
	}
	var rotated []string
	poll.Until(t, 90*time.Second, "a gzipped rotated log beside an uncompressed one", func() (err error) {
		rotated, err = files()
		if err != nil {
			return err
		}
		if len(rotated) != 2 || !strings.HasSuffix(rotated[0], ".gz") || strings.HasSuffix(rotated[1], ".gz") {
			return fmt.Errorf("rotated files %v", rotated)
		}
		return nil
	})
	t.Logf("log files: %v and 0.log", rotated)
	if !regexp.MustCompile(`^0\.log\.\d{8}-\d{6}\.gz$`).MatchString(rotated[0]) || !regexp.MustCompile(`^0\.log\.\d{8}-\d{6}$`).MatchString(rotated[1]) {
		t.Fatalf("rotated files not named as the kubelet's: %v", rotated)
	}
	gzFirst, gzLast := logNumbers(t, filepath.Join(logDir, rotated[0]))
	rotFirst, rotLast := logNumbers(t, filepath.Join(logDir, rotated[1]))
	t.Logf("%s: lines %d-%d; %s: lines %d-%d", rotated[0], gzFirst, gzLast, rotated[1], rotFirst, rotLast)
	if gzFirst < 0 || rotFirst != gzLast+1 {
		t.Fatalf("rotated files do not follow each other: %d-%d then %d-%d", gzFirst, gzLast, rotFirst, rotLast)
	}

	// kubectl logs reads the current file: its lines come after the rotated ones.
	out := s.ok(t, "logs", "-n", ns, "logger", "--tail=3")
	m := lineNumber.FindAllStringSubmatch(out, -1)
	if len(m) != 3 {
		t.Fatalf("kubectl logs --tail=3: %q", out)
	}
	if n, _ := strconv.Atoi(m[2][1]); n <= rotLast {
		t.Fatalf("kubectl logs shows line %d, not newer than the rotated file's last %d", n, rotLast)
	}
	all := s.ok(t, "logs", "-n", ns, "logger")
	if m := lineNumber.FindStringSubmatch(all); m == nil {
		t.Fatalf("kubectl logs: %.200q", all)
	} else if n, _ := strconv.Atoi(m[1]); n <= rotLast {
		t.Fatalf("kubectl logs starts at line %d, within the rotated files (up to %d)", n, rotLast)
	}

	// kubectl logs -f goes on in the new file after the next rotation.
	follow := s.kubectlBackground(t, 2*time.Minute, "logs", "-f", "-n", ns, "logger", "--tail=1")
	follow.waitLine(t, `n=\d+ `, 30*time.Second)
	var newest string
	poll.Until(t, 60*time.Second, "the next rotation", func() error {
		now, err := files()
		if err != nil {
			return err
		}
		if len(now) == 0 || now[len(now)-1] == rotated[1] {
			return fmt.Errorf("rotated files %v", now)
		}
		newest = now[len(now)-1]
		return nil
	})
	_, newestLast := logNumbers(t, filepath.Join(logDir, newest))
	poll.Until(t, 30*time.Second, "kubectl logs -f past the rotation", func() error {
		follow.mu.Lock()
		defer follow.mu.Unlock()
		if len(follow.lines) == 0 {
			return fmt.Errorf("no lines")
		}
		m := lineNumber.FindStringSubmatch(follow.lines[len(follow.lines)-1])
		if m == nil {
			return fmt.Errorf("last line %q", follow.lines[len(follow.lines)-1])
		}
		if n, _ := strconv.Atoi(m[1]); n <= newestLast+1000 {
			return fmt.Errorf("followed up to line %d; %s ends at %d", n, newest, newestLast)
		}
		return nil
	})
	// Every line the follow saw came in order, none twice, none missing.
	follow.mu.Lock()
	lines := append([]string(nil), follow.lines...)
	follow.mu.Unlock()
	prev := -1
	for _, l := range lines {
		m := lineNumber.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("followed line %q", l)
		}
		n, _ := strconv.Atoi(m[1])
		if prev >= 0 && n != prev+1 {
			t.Fatalf("followed lines jump from %d to %d", prev, n)
		}
		prev = n
	}
	t.Logf("followed %d lines across the rotation to %s (up to line %d)", len(lines), newest, prev)
}
