package kuberuntime

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Upstream's limits (pkg/kubelet/container): the termination message file is read up to 4096
// bytes, the log fallback takes the last 80 lines and at most 2048 bytes.
const (
	maxTerminationMessageLength   = 4096
	maxTerminationMessageLogLines = 80
	maxTerminationMessageLogBytes = 2048
)

// terminationMessage is upstream's: for an exited container, the content of the file mounted
// at its terminationMessagePath, or with FallbackToLogsOnError and a failure, the end of its
// log.
func terminationMessage(st *runtimeapi.ContainerStatus) string {
	path := st.Annotations[ContainerTerminationMessagePathAnnotation]
	fallback := st.Annotations[ContainerTerminationMessagePolicyAnnotation] == string(corev1.TerminationMessageFallbackToLogsOnError) &&
		st.ExitCode != 0 && st.Reason != "ContainerCannotRun"
	msg, checkLogs := "", fallback
	if path != "" {
		for _, m := range st.Mounts {
			if m.ContainerPath != path {
				continue
			}
			data, err := readAtMost(m.HostPath, maxTerminationMessageLength)
			if err != nil {
				if !os.IsNotExist(err) {
					return fmt.Sprintf("Error on reading termination log %s: %v", m.HostPath, err)
				}
				break
			}
			msg, checkLogs = string(data), fallback && len(data) == 0
			break
		}
	}
	if checkLogs && st.LogPath != "" {
		msg = lastLogLines(st.LogPath)
	}
	return msg
}

func readAtMost(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > max {
		if _, err := f.Seek(fi.Size()-max, io.SeekStart); err != nil {
			return nil, err
		}
	}
	return io.ReadAll(io.LimitReader(f, max))
}

// lastLogLines returns the content of the last lines of a CRI log file ("<time> <stream>
// <P|F> <text>"), as upstream's readLastStringFromContainerLogs.
func lastLogLines(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var lines []string
	var partial strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), " ", 4)
		if len(parts) < 3 {
			continue
		}
		text := ""
		if len(parts) == 4 {
			text = parts[3]
		}
		partial.WriteString(text)
		if parts[2] == "P" {
			continue
		}
		lines = append(lines, partial.String()+"\n")
		partial.Reset()
	}
	// A last line the container never ended ("echo -n DONE") counts as it is, as upstream's
	// log reader writes partial lines.
	if partial.Len() > 0 {
		lines = append(lines, partial.String())
	}
	if len(lines) > maxTerminationMessageLogLines {
		lines = lines[len(lines)-maxTerminationMessageLogLines:]
	}
	out := strings.Join(lines, "")
	if len(out) > maxTerminationMessageLogBytes {
		out = out[len(out)-maxTerminationMessageLogBytes:]
	}
	return out
}
