package stats

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"
)

// HostStats is one reading of the node's CPU and memory.
type HostStats struct {
	// BootTime is when the machine booted (the node's start time).
	BootTime time.Time
	// CPUUsageCoreNanoSeconds is the CPU time every core spent busy since boot.
	CPUUsageCoreNanoSeconds uint64
	// MemoryTotalBytes is the machine's memory; MemoryUsageBytes is what is not free (page
	// cache included); MemoryInactiveFileBytes is the page cache that can be reclaimed.
	MemoryTotalBytes, MemoryUsageBytes, MemoryInactiveFileBytes uint64
	// MemoryRSSBytes is anonymous memory; PageFaults and MajorPageFaults count faults since boot.
	MemoryRSSBytes, PageFaults, MajorPageFaults uint64
	// Interfaces are the host's network interfaces but loopback and veth pairs (as cAdvisor's
	// root container), DefaultInterface the one of the default route ("" when none).
	Interfaces       []InterfaceCounters
	DefaultInterface string
	// MaxPID is the kernel's pid_max and Processes the tasks it runs (/proc/loadavg's count, as
	// sysinfo's procs that the kubelet reports); 0 when unknown.
	MaxPID, Processes int64
}

// InterfaceCounters are one network interface's cumulative counters.
type InterfaceCounters struct {
	Name                                 string
	RxBytes, RxErrors, TxBytes, TxErrors uint64
}

// WorkingSetBytes is usage less inactive file pages, as cAdvisor's working set (never below 0).
func (h HostStats) WorkingSetBytes() uint64 {
	if h.MemoryInactiveFileBytes >= h.MemoryUsageBytes {
		return 0
	}
	return h.MemoryUsageBytes - h.MemoryInactiveFileBytes
}

// HostReader reads the host's statistics.
type HostReader interface {
	ReadHost() (HostStats, error)
}

// FSHost reads the host's statistics from a file system rooted at / (os.DirFS("/")): the cgroup
// v2 root's cpu.stat and memory.stat when mounted at sys/fs/cgroup, /proc/stat and
// /proc/meminfo.
type FSHost struct{ FS fs.FS }

// userHZ is the kernel's USER_HZ, the unit of /proc/stat's CPU times (100 on every Linux ABI).
const userHZ = 100

// ReadHost reads the host's statistics.
func (h FSHost) ReadHost() (HostStats, error) {
	var out HostStats
	procStat, err := fs.ReadFile(h.FS, "proc/stat")
	if err != nil {
		return out, fmt.Errorf("host stats: %w", err)
	}
	ps, err := ParseProcStat(procStat)
	if err != nil {
		return out, fmt.Errorf("host stats: proc/stat: %w", err)
	}
	out.BootTime, out.CPUUsageCoreNanoSeconds = ps.BootTime, ps.CPUUsageCoreNanoSeconds
	// The cgroup v2 root counts the CPU of every process (in microseconds); /proc/stat is the
	// fallback where it is absent (cgroup v1).
	if b, err := fs.ReadFile(h.FS, "sys/fs/cgroup/cpu.stat"); err == nil {
		if kv := ParseKeyValues(b); kv["usage_usec"] > 0 {
			out.CPUUsageCoreNanoSeconds = kv["usage_usec"] * 1000
		}
	}
	meminfo, err := fs.ReadFile(h.FS, "proc/meminfo")
	if err != nil {
		return out, fmt.Errorf("host stats: %w", err)
	}
	mi := ParseMeminfo(meminfo)
	total, free := mi["MemTotal"], mi["MemFree"]
	if total == 0 {
		return out, errors.New("host stats: proc/meminfo has no MemTotal")
	}
	// As runc's root cgroup memory statistics: usage is what is not free, the page cache
	// included; the root memory.stat gives inactive_file, anon and the page faults.
	out.MemoryTotalBytes, out.MemoryUsageBytes = total, total-min(free, total)
	out.MemoryInactiveFileBytes, out.MemoryRSSBytes = mi["Inactive(file)"], mi["AnonPages"]
	if b, err := fs.ReadFile(h.FS, "sys/fs/cgroup/memory.stat"); err == nil {
		kv := ParseKeyValues(b)
		if v, ok := kv["inactive_file"]; ok {
			out.MemoryInactiveFileBytes = v
		}
		if v, ok := kv["anon"]; ok {
			out.MemoryRSSBytes = v
		}
		out.PageFaults, out.MajorPageFaults = kv["pgfault"], kv["pgmajfault"]
	}
	// Network and process counts are optional: a host without them still has CPU and memory.
	if b, err := fs.ReadFile(h.FS, "proc/net/dev"); err == nil {
		out.Interfaces = ParseNetDev(b)
	}
	if b, err := fs.ReadFile(h.FS, "proc/net/route"); err == nil {
		out.DefaultInterface = ParseDefaultRoute(b)
	}
	if b, err := fs.ReadFile(h.FS, "proc/sys/kernel/pid_max"); err == nil {
		out.MaxPID, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	if b, err := fs.ReadFile(h.FS, "proc/loadavg"); err == nil {
		// "0.20 0.18 0.12 1/80 11206": running/total scheduling entities.
		if f := strings.Fields(string(b)); len(f) >= 4 {
			if _, total, ok := strings.Cut(f[3], "/"); ok {
				out.Processes, _ = strconv.ParseInt(total, 10, 64)
			}
		}
	}
	return out, nil
}

// ParseNetDev reads /proc/net/dev: each interface's received and sent bytes and errors,
// leaving out loopback and veth pairs (pods' ends, counted in their pods), as cAdvisor.
func ParseNetDev(b []byte) []InterfaceCounters {
	var out []InterfaceCounters
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		name = strings.TrimSpace(name)
		f := strings.Fields(rest)
		if len(f) < 11 || name == "lo" || strings.HasPrefix(name, "veth") {
			continue
		}
		var v [4]uint64
		valid := true
		for i, col := range []int{0, 2, 8, 10} {
			n, err := strconv.ParseUint(f[col], 10, 64)
			if err != nil {
				valid = false
				break
			}
			v[i] = n
		}
		if valid {
			out = append(out, InterfaceCounters{Name: name, RxBytes: v[0], RxErrors: v[1], TxBytes: v[2], TxErrors: v[3]})
		}
	}
	return out
}

// ParseDefaultRoute reads /proc/net/route: the interface of the first default route (destination
// and mask 0), or "".
func ParseDefaultRoute(b []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 8 && f[1] == "00000000" && f[7] == "00000000" {
			return f[0]
		}
	}
	return ""
}

// ParseKeyValues reads "key value" lines (cgroup cpu.stat, memory.stat); malformed lines are
// skipped.
func ParseKeyValues(b []byte) map[string]uint64 {
	out := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			out[f[0]] = v
		}
	}
	return out
}

// ParseMeminfo reads /proc/meminfo in bytes ("MemTotal: 16318504 kB").
func ParseMeminfo(b []byte) map[string]uint64 {
	out := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && f[1] == "kB" {
			v *= 1024
		}
		out[key] = v
	}
	return out
}

// ProcStat is what the node's statistics take from /proc/stat.
type ProcStat struct {
	BootTime                time.Time
	CPUUsageCoreNanoSeconds uint64
}

// ParseProcStat reads the aggregate "cpu" line (busy time: user, nice, system, irq, softirq
// and steal; not idle nor iowait) and btime.
func ParseProcStat(b []byte) (ProcStat, error) {
	var out ProcStat
	var cpu, btime bool
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "cpu":
			if len(f) < 8 {
				return out, fmt.Errorf("short cpu line %q", sc.Text())
			}
			var busy uint64
			// user nice system idle iowait irq softirq steal ...
			for _, i := range []int{1, 2, 3, 6, 7, 8} {
				if i >= len(f) {
					continue
				}
				v, err := strconv.ParseUint(f[i], 10, 64)
				if err != nil {
					return out, fmt.Errorf("cpu line %q: %w", sc.Text(), err)
				}
				busy += v
			}
			out.CPUUsageCoreNanoSeconds, cpu = busy*uint64(time.Second/userHZ), true
		case "btime":
			if len(f) != 2 {
				continue
			}
			v, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return out, fmt.Errorf("btime %q: %w", f[1], err)
			}
			out.BootTime, btime = time.Unix(v, 0), true
		}
	}
	if !cpu || !btime {
		return out, errors.New("no cpu or btime line")
	}
	return out, nil
}
