package kuberuntime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestTerminationMessage(t *testing.T) {
	dir := t.TempDir()
	msgFile := filepath.Join(dir, "msg")
	logFile := filepath.Join(dir, "0.log")
	if err := os.WriteFile(logFile, []byte("2026-01-01T00:00:00Z stdout F first\n2026-01-01T00:00:00Z stderr P par\n2026-01-01T00:00:00Z stderr F tial\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := func(policy string, exit int32, file string) *runtimeapi.ContainerStatus {
		return &runtimeapi.ContainerStatus{ExitCode: exit, LogPath: logFile,
			Annotations: map[string]string{ContainerTerminationMessagePathAnnotation: "/dev/termination-log", ContainerTerminationMessagePolicyAnnotation: policy},
			Mounts:      []*runtimeapi.Mount{{ContainerPath: "/dev/termination-log", HostPath: file}}}
	}
	if got := terminationMessage(st("File", 1, msgFile)); got != "" {
		t.Errorf("missing file: %q", got)
	}
	if got := terminationMessage(st("FallbackToLogsOnError", 1, msgFile)); got != "first\npartial\n" {
		t.Errorf("fallback to logs: %q", got)
	}
	if got := terminationMessage(st("FallbackToLogsOnError", 0, msgFile)); got != "" {
		t.Errorf("no fallback on success: %q", got)
	}
	// A last line never ended (upstream's conformance spec runs `echo -n DONE; /bin/false`).
	if err := os.WriteFile(logFile, []byte("2026-01-01T00:00:00Z stdout P DONE\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := terminationMessage(st("FallbackToLogsOnError", 1, msgFile)); got != "DONE" {
		t.Errorf("a partial last line: %q", got)
	}
	if err := os.WriteFile(msgFile, []byte(strings.Repeat("x", 5000)+"end"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := terminationMessage(st("FallbackToLogsOnError", 1, msgFile)); len(got) != 4096 || !strings.HasSuffix(got, "end") {
		t.Errorf("file message: %d bytes", len(got))
	}
}
