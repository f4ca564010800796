package stats

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/utils/clock"
)

// FsUsage is one file system's size and use, as statfs(2) reports it.
type FsUsage struct {
	CapacityBytes, AvailableBytes, UsedBytes uint64
	Inodes, InodesFree, InodesUsed           uint64
}

// StatFS reads the file system that holds path.
func StatFS(path string) (FsUsage, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return FsUsage{}, fmt.Errorf("statfs %s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	return FsUsage{
		CapacityBytes:  st.Blocks * bs,
		AvailableBytes: st.Bavail * bs,
		UsedBytes:      (st.Blocks - st.Bfree) * bs,
		Inodes:         st.Files,
		InodesFree:     st.Ffree,
		InodesUsed:     st.Files - st.Ffree,
	}, nil
}

// DirUsage is what a directory tree takes on disk: its bytes (allocated blocks, as du) and
// inodes (files and directories, itself included); Tmpfs when it is in memory.
type DirUsage struct {
	UsedBytes, InodesUsed uint64
	Tmpfs                 bool
}

// MeasureDir walks the tree at path, as the kubelet's du: a file counted once per hard link
// set is not attempted (each entry counts). A missing path is empty, not an error; entries
// that vanish during the walk are skipped.
func MeasureDir(path string) (DirUsage, error) {
	var u DirUsage
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err == nil {
		u.Tmpfs = st.Type == unix.TMPFS_MAGIC
	}
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		u.InodesUsed++
		if st, ok := info.Sys().(*unix.Stat_t); ok {
			u.UsedBytes += uint64(st.Blocks) * 512
		} else {
			u.UsedBytes += uint64(info.Size())
		}
		return nil
	})
	if err != nil {
		return u, fmt.Errorf("measuring %s: %w", path, err)
	}
	return u, nil
}

// dirCache keeps directory measurements for a while, as the kubelet's fsResourceAnalyzer
// recalculates volume usage once a period rather than at every scrape: walking every pod's
// volumes at each summary would cost the node more than the stats are worth. Paths not asked
// for in a round are forgotten at the next.
type dirCache struct {
	measure func(string) (DirUsage, error)
	clock   clock.PassiveClock
	ttl     time.Duration

	mu      sync.Mutex
	entries map[string]dirEntry
}

type dirEntry struct {
	at    time.Time
	usage DirUsage
	used  bool
}

// get returns path's usage, measured at most ttl ago.
func (c *dirCache) get(path string) (DirUsage, error) {
	now := c.clock.Now()
	c.mu.Lock()
	if e, ok := c.entries[path]; ok && now.Sub(e.at) < c.ttl {
		e.used = true
		c.entries[path] = e
		c.mu.Unlock()
		return e.usage, nil
	}
	c.mu.Unlock()
	u, err := c.measure(path)
	if err != nil {
		return u, err
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]dirEntry{}
	}
	c.entries[path] = dirEntry{at: now, usage: u, used: true}
	c.mu.Unlock()
	return u, nil
}

// sweep forgets the paths not asked for since the sweep before.
func (c *dirCache) sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, e := range c.entries {
		if !e.used {
			delete(c.entries, p)
			continue
		}
		e.used = false
		c.entries[p] = e
	}
}

// listDirs lists the names of the directories in dir (none when it does not exist).
func listDirs(dir string) []string {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range es {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}
