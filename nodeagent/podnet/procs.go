package podnet

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Proc is one process of the machine, as /proc shows it.
type Proc struct {
	Pid, PPid int
	// Args is the command line.
	Args []string
	// NetNS is the inode of its network namespace (0 when unreadable, e.g. a zombie).
	NetNS uint64
	// Start is its start time in clock ticks since boot (/proc/<pid>/stat field 22): with the
	// pid, it names one process even after the pid is reused.
	Start uint64
}

// procRoot is where processes are read.
var procRoot = "/proc"

// ListProcs reads every process of the machine (kernel threads have no command line and are
// left out).
func ListProcs() ([]Proc, error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	var out []Proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, ok := readProc(pid)
		if ok && len(p.Args) > 0 {
			out = append(out, p)
		}
	}
	return out, nil
}

// ReadProc reads one process; ok is false when it is gone.
func ReadProc(pid int) (Proc, bool) { return readProc(pid) }

func readProc(pid int) (Proc, bool) {
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return Proc{}, false
	}
	ppid, start, err := ParseStat(string(stat))
	if err != nil {
		return Proc{}, false
	}
	p := Proc{Pid: pid, PPid: ppid, Start: start}
	if cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		p.Args = splitCmdline(cmdline)
	}
	if link, err := os.Readlink(filepath.Join(dir, "ns", "net")); err == nil {
		p.NetNS = parseNSLink(link)
	}
	return p, true
}

// ParseStat returns the parent pid and start time from the text of /proc/<pid>/stat. The
// command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
func ParseStat(stat string) (ppid int, start uint64, err error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("malformed stat %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); ppid is field 4, starttime field 22.
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("malformed stat %q", stat)
	}
	if ppid, err = strconv.Atoi(f[1]); err != nil {
		return 0, 0, fmt.Errorf("malformed stat ppid %q", f[1])
	}
	if start, err = strconv.ParseUint(f[19], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("malformed stat starttime %q", f[19])
	}
	return ppid, start, nil
}

func splitCmdline(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

// parseNSLink returns the inode of a namespace link, "net:[4026531840]".
func parseNSLink(link string) uint64 {
	_, rest, ok := strings.Cut(link, "[")
	if !ok {
		return 0
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// IsShim tells a containerd shim (containerd-shim, containerd-shim-runc-v2, ...).
func (p Proc) IsShim() bool {
	return len(p.Args) > 0 && strings.HasPrefix(filepath.Base(p.Args[0]), "containerd-shim")
}

// flagValue returns the value of -name or --name in args ("-name v" or "-name=v").
func flagValue(args []string, name string) string {
	for i, a := range args {
		for _, prefix := range []string{"-" + name, "--" + name} {
			if a == prefix && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, prefix+"="); ok {
				return v
			}
		}
	}
	return ""
}

// ShimAddress is the containerd socket a shim reports to (its -address), "" for other processes.
func (p Proc) ShimAddress() string {
	if !p.IsShim() {
		return ""
	}
	return flagValue(p.Args, "address")
}

// ShimID is the task a shim serves (its -id): for a CRI pod, the sandbox ID.
func (p Proc) ShimID() string {
	if !p.IsShim() {
		return ""
	}
	return flagValue(p.Args, "id")
}

// ContainerdConfig is the --config of a containerd process, "" for other processes.
func (p Proc) ContainerdConfig() string {
	if len(p.Args) == 0 || filepath.Base(p.Args[0]) != "containerd" {
		return ""
	}
	return flagValue(p.Args, "config")
}

// IsSkiff tells a process of the skiff binary.
func (p Proc) IsSkiff() bool {
	return len(p.Args) > 0 && filepath.Base(p.Args[0]) == "skiff"
}

// Descendants returns roots and every process below them, roots first, each once.
func Descendants(procs []Proc, roots []int) []int {
	children := map[int][]int{}
	for _, p := range procs {
		children[p.PPid] = append(children[p.PPid], p.Pid)
	}
	seen := map[int]bool{}
	var out []int
	queue := slices.Clone(roots)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] || pid <= 1 {
			continue
		}
		seen[pid] = true
		out = append(out, pid)
		queue = append(queue, children[pid]...)
	}
	return out
}

// ShimsOf returns the shims that report to the containerd at socket.
func ShimsOf(procs []Proc, socket string) []Proc {
	var out []Proc
	for _, p := range procs {
		if a := p.ShimAddress(); a != "" && filepath.Clean(a) == filepath.Clean(socket) {
			out = append(out, p)
		}
	}
	return out
}
