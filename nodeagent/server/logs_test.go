package server

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff-dev/skiff/test/poll"
)

func TestParseCRILog(t *testing.T) {
	ts, _ := time.Parse(time.RFC3339Nano, "2016-10-20T18:39:20.57606443Z")
	for _, tc := range []struct {
		line    string
		want    logMessage
		wantErr bool
	}{
		{line: "2016-10-20T18:39:20.57606443Z stdout F cri log content 1\n",
			want: logMessage{timestamp: ts, stream: runtimeapi.Stdout, log: []byte("cri log content 1\n")}},
		{line: "2016-10-20T18:39:20.57606443Z stderr F cri log content 2\n",
			want: logMessage{timestamp: ts, stream: runtimeapi.Stderr, log: []byte("cri log content 2\n")}},
		{line: "2016-10-20T18:39:20.57606443Z stdout P partial\n",
			want: logMessage{timestamp: ts, stream: runtimeapi.Stdout, log: []byte("partial"), partial: true}},
		{line: "2016-10-20T18:39:20.57606443Z stdout F:x:y tagged\n",
			want: logMessage{timestamp: ts, stream: runtimeapi.Stdout, log: []byte("tagged\n")}},
		{line: "2016-10-20T18:39:20.57606443Z stdout F \n",
			want: logMessage{timestamp: ts, stream: runtimeapi.Stdout, log: []byte("\n")}},
		{line: "not-a-time stdout F x\n", wantErr: true},
		{line: "2016-10-20T18:39:20.57606443Z stdin F x\n", wantErr: true},
		{line: "2016-10-20T18:39:20.57606443Z stdout\n", wantErr: true},
		{line: "2016-10-20T18:39:20.57606443Z", wantErr: true},
	} {
		var got logMessage
		err := parseCRILog([]byte(tc.line), &got)
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: err %v, wantErr %v", tc.line, err, tc.wantErr)
			continue
		}
		if tc.wantErr {
			continue
		}
		if !got.timestamp.Equal(tc.want.timestamp) || got.stream != tc.want.stream || string(got.log) != string(tc.want.log) || got.partial != tc.want.partial {
			t.Errorf("%q: got %+v (log %q), want %+v (log %q)", tc.line, got, got.log, tc.want, tc.want.log)
		}
	}
}

// writeLog writes a CRI log file of lines "line N" at base+N seconds, alternating streams, and
// one line split into two partial records.
func writeLog(t *testing.T, base time.Time) string {
	t.Helper()
	var b strings.Builder
	for i := 1; i <= 5; i++ {
		stream := "stdout"
		if i == 3 {
			stream = "stderr"
		}
		fmt.Fprintf(&b, "%s %s F line %d\n", base.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), stream, i)
	}
	at := base.Add(6 * time.Second).Format(time.RFC3339Nano)
	fmt.Fprintf(&b, "%s stdout P long-\n%s stdout F line 6\n", at, at)
	p := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadLogsOptions(t *testing.T) {
	base := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	path := writeLog(t, base)
	int64p := func(n int64) *int64 { return &n }
	since := metav1.NewTime(base.Add(4 * time.Second))
	stderr := corev1.LogStreamStderr
	ts := func(sec int) string { return base.Add(time.Duration(sec) * time.Second).Format(time.RFC3339Nano) }
	for _, tc := range []struct {
		name string
		opts corev1.PodLogOptions
		now  time.Time
		want string
	}{
		{name: "all", want: "line 1\nline 2\nline 3\nline 4\nline 5\nlong-line 6\n"},
		{name: "tail 2 (raw records: the partial one counts)", opts: corev1.PodLogOptions{TailLines: int64p(2)}, want: "long-line 6\n"},
		{name: "tail 3", opts: corev1.PodLogOptions{TailLines: int64p(3)}, want: "line 5\nlong-line 6\n"},
		{name: "tail 0", opts: corev1.PodLogOptions{TailLines: int64p(0)}, want: ""},
		{name: "tail more than there is", opts: corev1.PodLogOptions{TailLines: int64p(100)}, want: "line 1\nline 2\nline 3\nline 4\nline 5\nlong-line 6\n"},
		{name: "timestamps", opts: corev1.PodLogOptions{TailLines: int64p(3), Timestamps: true},
			want: ts(5) + " line 5\n" + ts(6) + " long-line 6\n"},
		{name: "sinceTime", opts: corev1.PodLogOptions{SinceTime: &since}, want: "line 4\nline 5\nlong-line 6\n"},
		{name: "sinceSeconds", opts: corev1.PodLogOptions{SinceSeconds: int64p(2)}, now: base.Add(7 * time.Second), want: "line 5\nlong-line 6\n"},
		{name: "limitBytes", opts: corev1.PodLogOptions{LimitBytes: int64p(10)}, want: "line 1\nlin"},
		{name: "stderr only", opts: corev1.PodLogOptions{Stream: &stderr}, want: "line 3\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = base.Add(time.Hour)
			}
			var out bytes.Buffer
			if err := ReadLogs(context.Background(), path, NewLogOptions(&tc.opts, now), nil, &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got %q, want %q", out.String(), tc.want)
			}
		})
	}
}

func TestFindTailLineStartIndexLargeFile(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, n := range []int64{0, 1, 10, 1000, 2999, 3000, 5000} {
		start, err := findTailLineStartIndex(f, n)
		if err != nil {
			t.Fatal(err)
		}
		rest := b.String()[start:]
		want := n
		if want > 3000 {
			want = 3000
		}
		if got := int64(strings.Count(rest, "\n")); got != want {
			t.Errorf("tail %d: %d lines from offset %d", n, got, start)
		}
	}
}

// TestReadLogsFollow appends to the file while following, and stops once the container stops.
func TestReadLogsFollow(t *testing.T) {
	base := time.Now().UTC()
	path := writeLog(t, base)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var running atomic.Bool
	running.Store(true)
	isRunning := func(context.Context) bool { return running.Load() }
	out := &syncBuffer{}
	done := make(chan error, 1)
	tail := int64(2)
	go func() {
		done <- ReadLogs(context.Background(), path, NewLogOptions(&corev1.PodLogOptions{Follow: true, TailLines: &tail}, time.Now()), isRunning, out)
	}()
	has := func(want string) func() (bool, string) {
		return func() (bool, string) {
			got := out.String()
			return got == want, fmt.Sprintf("got %q, want %q", got, want)
		}
	}
	poll.Until(t, 5*time.Second, "the last two lines", poll.Check(has("long-line 6\n")))
	// A record written in two steps (no newline yet) is written once complete.
	fmt.Fprintf(f, "%s stdout F line", time.Now().UTC().Format(time.RFC3339Nano))
	time.Sleep(300 * time.Millisecond)
	fmt.Fprintf(f, " 7\n")
	poll.Until(t, 5*time.Second, "the record completed", poll.Check(has("long-line 6\nline 7\n")))
	running.Store(false)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end after the container stopped")
	}
	if out.String() != "long-line 6\nline 7\n" {
		t.Errorf("got %q", out.String())
	}
}

// TestReadLogsFollowRotated: a followed log that is rotated (renamed, then reopened by the
// runtime) is read to its end, then the new file from its start.
func TestReadLogsFollowRotated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	line := func(s string) string {
		return fmt.Sprintf("%s stdout F %s\n", time.Now().UTC().Format(time.RFC3339Nano), s)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, line("a"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- ReadLogs(ctx, path, NewLogOptions(&corev1.PodLogOptions{Follow: true}, time.Now()), func(context.Context) bool { return true }, out)
	}()
	has := func(want string) func() (bool, string) {
		return func() (bool, string) {
			got := out.String()
			return got == want, fmt.Sprintf("got %q, want %q", got, want)
		}
	}
	poll.Until(t, 5*time.Second, "the first line", poll.Check(has("a\n")))
	if err := os.Rename(path, path+".20261206-030000"); err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, line("b")) // written before the runtime reopened the log
	f.Close()
	nf, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer nf.Close()
	fmt.Fprint(nf, line("c"))
	poll.Until(t, 5*time.Second, "the old file's end, then the new file", poll.Check(has("a\nb\nc\n")))
	fmt.Fprint(nf, line("d"))
	poll.Until(t, 5*time.Second, "the new file followed", poll.Check(has("a\nb\nc\nd\n")))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func TestPodLogOptionsFromQuery(t *testing.T) {
	o, err := PodLogOptionsFromQuery(map[string][]string{"follow": {"true"}, "previous": {"1"}, "tailLines": {"5"}, "sinceTime": {"2024-01-02T03:04:05Z"}, "timestamps": {"false"}})
	if err != nil {
		t.Fatal(err)
	}
	if !o.Follow || !o.Previous || o.Timestamps || *o.TailLines != 5 || !o.SinceTime.Time.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("got %+v", o)
	}
	for _, bad := range []map[string][]string{
		{"tailLines": {"-1"}}, {"limitBytes": {"0"}}, {"sinceSeconds": {"0"}}, {"tailLines": {"x"}},
		{"sinceSeconds": {"5"}, "sinceTime": {"2024-01-02T03:04:05Z"}},
	} {
		if _, err := PodLogOptionsFromQuery(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
