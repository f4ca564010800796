package resourcemetrics

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// sample is one series line of the Prometheus text format (version 0.0.4) that Decode reads:
// its metric name, the three labels a container's series carry, its value and its timestamp.
type sample struct {
	name                      string
	namespace, pod, container string
	value                     float64
	timestampMs               int64
	hasTimestamp              bool
}

// The series Decode reads (the kubelet's /metrics/resource names).
const (
	nodeCPU        = "node_cpu_usage_seconds_total"
	nodeMemory     = "node_memory_working_set_bytes"
	containerCPU   = "container_cpu_usage_seconds_total"
	containerMem   = "container_memory_working_set_bytes"
	containerStart = "container_start_time_seconds"
)

// wanted are the series Decode reads; other lines are skipped unparsed.
var wanted = map[string]bool{nodeCPU: true, nodeMemory: true, containerCPU: true, containerMem: true, containerStart: true}

// eachSample calls f with each series line of body whose metric is wanted (the sample is
// reused between calls), and fails on the first such line that is not the text format. It
// reads the lines in place, without building metric families as expfmt's parser does: the API
// server decodes every node's resource metrics every 15 s (issue 17: at 5,000 nodes expfmt's
// parser was 4 % of the control plane's CPU and much of its garbage).
func eachSample(body []byte, f func(*sample)) error {
	var s sample
	for n := 1; len(body) > 0; n++ {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimLeft(line, " \t")
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		end := bytes.IndexAny(line, "{ \t")
		if end < 0 {
			return fmt.Errorf("line %d: no value after the metric name", n)
		}
		if !wanted[string(line[:end])] { // no allocation: map lookup by a converted key
			continue
		}
		s = sample{name: string(line[:end])}
		rest := line[end:]
		if rest[0] == '{' {
			var err error
			if rest, err = s.readLabels(rest[1:]); err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
		}
		value, timestamp := splitBlank(bytes.Trim(rest, " \t"))
		if len(value) == 0 || bytes.ContainsAny(timestamp, " \t") {
			return fmt.Errorf("line %d: want a value and an optional timestamp, got %q", n, rest)
		}
		v, err := strconv.ParseFloat(string(value), 64)
		if err != nil {
			return fmt.Errorf("line %d: value: %w", n, err)
		}
		s.value = v
		if len(timestamp) > 0 {
			if s.timestampMs, err = strconv.ParseInt(string(timestamp), 10, 64); err != nil {
				return fmt.Errorf("line %d: timestamp: %w", n, err)
			}
			s.hasTimestamp = true
		}
		f(&s)
	}
	return nil
}

// splitBlank splits b at its first blank: the value and the rest (blanks trimmed).
func splitBlank(b []byte) (first, rest []byte) {
	i := bytes.IndexAny(b, " \t")
	if i < 0 {
		return b, nil
	}
	return b[:i], bytes.TrimLeft(b[i:], " \t")
}

// readLabels reads `name="value",...}` (after the opening brace), keeping the namespace, pod
// and container labels, and returns what follows the closing brace.
func (s *sample) readLabels(b []byte) ([]byte, error) {
	for {
		b = bytes.TrimLeft(b, " \t")
		if len(b) == 0 {
			return nil, errors.New("labels not closed")
		}
		if b[0] == '}' {
			return b[1:], nil
		}
		eq := bytes.IndexByte(b, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("label without a value in %q", b)
		}
		name := string(bytes.TrimSpace(b[:eq]))
		b = bytes.TrimLeft(b[eq+1:], " \t")
		if len(b) == 0 || b[0] != '"' {
			return nil, fmt.Errorf("label %s: value not quoted", name)
		}
		value, rest, err := quoted(b[1:])
		if err != nil {
			return nil, fmt.Errorf("label %s: %w", name, err)
		}
		switch name {
		case "namespace":
			s.namespace = value
		case "pod":
			s.pod = value
		case "container":
			s.container = value
		}
		b = bytes.TrimLeft(rest, " \t")
		if len(b) > 0 && b[0] == ',' {
			b = b[1:]
		} else if len(b) == 0 || b[0] != '}' {
			return nil, errors.New("labels not separated by commas")
		}
	}
}

// quoted reads a label value up to its closing quote (escapes \\, \" and \n) and returns it
// and what follows the quote.
func quoted(b []byte) (string, []byte, error) {
	end := bytes.IndexAny(b, "\\\"")
	if end >= 0 && b[end] == '"' { // no escape: the common case
		return string(b[:end]), b[end+1:], nil
	}
	var out strings.Builder
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			return out.String(), b[i+1:], nil
		case '\\':
			if i+1 == len(b) {
				return "", nil, errors.New("value not closed")
			}
			i++
			switch b[i] {
			case '\\', '"':
				out.WriteByte(b[i])
			case 'n':
				out.WriteByte('\n')
			default:
				return "", nil, fmt.Errorf("unknown escape \\%c", b[i])
			}
		default:
			out.WriteByte(c)
		}
	}
	return "", nil, errors.New("value not closed")
}
