package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The CRI log format, as upstream kubelet's pkg/kubelet/kuberuntime/logs reads it:
//
//	<RFC3339Nano timestamp> <stdout|stderr> <tag>[:<tag>...] <content>\n
//
// where the first tag is P for a partial line (continued by the next record) or F for a full one.
const (
	timeFormatIn  = time.RFC3339Nano
	timeFormatOut = time.RFC3339Nano
	// stateCheckPeriod is how often a follow checks whether the container still runs.
	stateCheckPeriod = time.Second
	// pollPeriod is how often a follow looks for new log content.
	pollPeriod = 100 * time.Millisecond
	// blockSize is the size of the blocks read backwards to find the tail.
	blockSize = 4096
)

var (
	errMaximumWrite = errors.New("maximum write")
	errShortWrite   = errors.New("short write")
)

// LogOptions are the options of one log request, after upstream's kubelet LogOptions.
type LogOptions struct {
	// Tail is the number of lines from the end to start with; negative means all.
	Tail int64
	// Bytes is the most bytes to write; negative means no limit.
	Bytes int64
	// Since drops records older than this time.
	Since time.Time
	// Follow keeps reading until the container stops or the request ends.
	Follow bool
	// Timestamps prefixes each line with its RFC3339Nano time.
	Timestamps bool
	// Stream is "" or All for both streams, Stdout or Stderr for one.
	Stream string
}

// NewLogOptions converts the API's PodLogOptions as the kubelet does; now is the time
// sinceSeconds counts back from.
func NewLogOptions(o *corev1.PodLogOptions, now time.Time) *LogOptions {
	opts := &LogOptions{Tail: -1, Bytes: -1, Follow: o.Follow, Timestamps: o.Timestamps}
	if o.TailLines != nil {
		opts.Tail = *o.TailLines
	}
	if o.LimitBytes != nil {
		opts.Bytes = *o.LimitBytes
	}
	if o.SinceSeconds != nil {
		opts.Since = now.Add(-time.Duration(*o.SinceSeconds) * time.Second)
	}
	if o.SinceTime != nil && o.SinceTime.After(opts.Since) {
		opts.Since = o.SinceTime.Time
	}
	if o.Stream != nil {
		opts.Stream = *o.Stream
	}
	return opts
}

// logMessage is one parsed record.
type logMessage struct {
	timestamp time.Time
	stream    runtimeapi.LogStreamType
	log       []byte
	// partial is true when the record's line continues in the next record.
	partial bool
}

// parseCRILog parses one CRI log record (with its trailing newline, if any) as upstream's
// parseCRILog: a partial record loses its newline.
func parseCRILog(log []byte, msg *logMessage) error {
	idx := bytes.IndexByte(log, ' ')
	if idx < 0 {
		return fmt.Errorf("timestamp is not found")
	}
	var err error
	msg.timestamp, err = time.Parse(timeFormatIn, string(log[:idx]))
	if err != nil {
		return fmt.Errorf("unexpected timestamp format %q: %v", timeFormatIn, err)
	}
	log = log[idx+1:]
	idx = bytes.IndexByte(log, ' ')
	if idx < 0 {
		return fmt.Errorf("stream type is not found")
	}
	msg.stream = runtimeapi.LogStreamType(log[:idx])
	if msg.stream != runtimeapi.Stdout && msg.stream != runtimeapi.Stderr {
		return fmt.Errorf("unexpected stream type %q", msg.stream)
	}
	log = log[idx+1:]
	idx = bytes.IndexByte(log, ' ')
	if idx < 0 {
		return fmt.Errorf("log tag is not found")
	}
	tags := bytes.Split(log[:idx], []byte(runtimeapi.LogTagDelimiter))
	msg.partial = runtimeapi.LogTag(tags[0]) == runtimeapi.LogTagPartial
	if msg.partial && len(log) > 0 && log[len(log)-1] == '\n' {
		log = log[:len(log)-1]
	}
	msg.log = log[idx+1:]
	return nil
}

// logWriter writes parsed records to the response as upstream's logWriter: since, timestamps,
// stream selection and the byte limit.
type logWriter struct {
	out    io.Writer
	opts   *LogOptions
	remain int64
	// newLine is true when the next record starts a line (for the timestamp prefix).
	newLine map[runtimeapi.LogStreamType]bool
}

func newLogWriter(out io.Writer, opts *LogOptions) *logWriter {
	w := &logWriter{out: out, opts: opts, remain: math.MaxInt64,
		newLine: map[runtimeapi.LogStreamType]bool{runtimeapi.Stdout: true, runtimeapi.Stderr: true}}
	if opts.Bytes >= 0 {
		w.remain = opts.Bytes
	}
	return w
}

func (w *logWriter) write(msg *logMessage) error {
	if msg.timestamp.Before(w.opts.Since) {
		return nil
	}
	switch w.opts.Stream {
	case corev1.LogStreamStdout:
		if msg.stream != runtimeapi.Stdout {
			return nil
		}
	case corev1.LogStreamStderr:
		if msg.stream != runtimeapi.Stderr {
			return nil
		}
	}
	addPrefix := w.newLine[msg.stream]
	w.newLine[msg.stream] = !msg.partial
	line := msg.log
	if w.opts.Timestamps && addPrefix {
		prefix := append([]byte(msg.timestamp.Format(timeFormatOut)), ' ')
		line = append(prefix, line...)
	}
	if int64(len(line)) > w.remain {
		line = line[:w.remain]
	}
	n, err := w.out.Write(line)
	w.remain -= int64(n)
	if err != nil {
		return err
	}
	if n < len(line) {
		return errShortWrite
	}
	if w.remain <= 0 {
		return errMaximumWrite
	}
	return nil
}

// findTailLineStartIndex returns the offset of the start of the last n lines of f, as upstream.
func findTailLineStartIndex(f io.ReadSeeker, n int64) (int64, error) {
	if n < 0 {
		return 0, nil
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	var left, cnt int64
	buf := make([]byte, blockSize)
	for right := size; right > 0 && cnt <= n; right -= blockSize {
		left = right - blockSize
		if left <= 0 {
			left = 0
			buf = make([]byte, right)
		}
		if _, err := f.Seek(left, io.SeekStart); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(f, buf); err != nil {
			return 0, err
		}
		cnt += int64(bytes.Count(buf, []byte{'\n'}))
	}
	for ; cnt > n; cnt-- {
		idx := bytes.IndexByte(buf, '\n') + 1
		buf = buf[idx:]
		left += int64(idx)
	}
	return left, nil
}

// ReadLogs writes the log file at path to out according to opts. With Follow, it keeps
// reading new content until running reports false (checked every second) and the file is
// drained, or ctx ends. running may be nil when not following.
func ReadLogs(ctx context.Context, path string, opts *LogOptions, running func(context.Context) bool, out io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("failed to open log file %q: %v", path, err)
	}
	defer func() { f.Close() }() // f changes when a followed log is rotated
	start, err := findTailLineStartIndex(f, opts.Tail)
	if err != nil {
		return fmt.Errorf("failed to tail %d lines of log file %q: %v", opts.Tail, path, err)
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return fmt.Errorf("failed to seek %d in log file %q: %v", start, path, err)
	}
	r := bufio.NewReader(f)
	w := newLogWriter(out, opts)
	flusher, _ := out.(interface{ Flush() })
	var pending []byte
	// next is the new file of a rotated log (package nodeagent/logs renames the file and has the
	// runtime reopen it), followed from its start as upstream's ReadLogs does on a rename.
	var next *os.File
	defer func() {
		if next != nil {
			next.Close()
		}
	}()
	lastCheck := time.Now()
	for {
		chunk, err := r.ReadBytes('\n')
		pending = append(pending, chunk...)
		if err == nil {
			msg := &logMessage{}
			if perr := parseCRILog(pending, msg); perr == nil {
				if werr := w.write(msg); werr != nil {
					if errors.Is(werr, errMaximumWrite) {
						return nil
					}
					return werr
				}
			}
			pending = pending[:0]
			continue
		}
		if err != io.EOF {
			return fmt.Errorf("failed to read log file %q: %v", path, err)
		}
		// A last record without its newline is written as it is when the read ends.
		finish := func() error {
			if len(pending) > 0 {
				msg := &logMessage{}
				if parseCRILog(pending, msg) == nil {
					if werr := w.write(msg); werr != nil && !errors.Is(werr, errMaximumWrite) {
						return werr
					}
				}
			}
			return nil
		}
		if !opts.Follow {
			return finish()
		}
		if flusher != nil {
			flusher.Flush()
		}
		if next != nil {
			// The rotated file was read to its end once more: go on with the new one.
			if err := finish(); err != nil {
				return err
			}
			pending = pending[:0]
			f.Close()
			f, next = next, nil
			r.Reset(f)
			continue
		}
		// A rotated file is read to its end once more after the wait below (the runtime may
		// still write to it until its reopen is done), then the new one.
		next = reopenIfRotated(f, path)
		if time.Since(lastCheck) >= stateCheckPeriod {
			lastCheck = time.Now()
			if running == nil || !running(ctx) {
				// One more read catches what was written before the container stopped.
				if more, _ := r.Peek(1); len(more) == 0 {
					return finish()
				}
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pollPeriod):
		}
	}
}

// reopenIfRotated opens path when it names another file than f (the log was rotated and the
// runtime reopened it), else returns nil.
func reopenIfRotated(f *os.File, path string) *os.File {
	cur, err := os.Stat(path)
	if err != nil {
		return nil // renamed, not reopened yet
	}
	if old, err := f.Stat(); err != nil || os.SameFile(old, cur) {
		return nil
	}
	nf, err := os.Open(path)
	if err != nil {
		return nil
	}
	return nf
}
