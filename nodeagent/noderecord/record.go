package noderecord

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DefaultRunDir is where nodes record themselves unless --run-dir or SKIFF_RUN_DIR says otherwise.
const DefaultRunDir = "/run/skiff/nodes"

// RunDirEnv names the environment variable that overrides DefaultRunDir.
const RunDirEnv = "SKIFF_RUN_DIR"

// DataDirCopy is the name of the record's copy in the node's directory (<data-dir>/node).
const DataDirCopy = "node-record.json"

// Record is one node of this machine.
type Record struct {
	// Node is the node's name.
	Node string `json:"node"`
	// DataDir is the skiff data dir (--data-dir) and NodeDir the node's part of it
	// (<data-dir>/node: containerd, agent, registry).
	DataDir string `json:"dataDir"`
	NodeDir string `json:"nodeDir"`
	// ContainerdConfig, ContainerdSocket, ContainerdRoot and ContainerdState are the node's
	// private containerd.
	ContainerdConfig string `json:"containerdConfig"`
	ContainerdSocket string `json:"containerdSocket"`
	ContainerdRoot   string `json:"containerdRoot"`
	ContainerdState  string `json:"containerdState"`
	// Bridge and PodCIDR are the node's pod network; ProxyTable and NetpolTable its nftables
	// tables (service proxy, NetworkPolicies).
	Bridge      string `json:"bridge"`
	PodCIDR     string `json:"podCIDR"`
	ProxyTable  string `json:"proxyTable"`
	NetpolTable string `json:"netpolTable,omitempty"`
	// PID and ProcessStart (clock ticks since boot) name the skiff process that runs the node.
	PID          int       `json:"pid"`
	ProcessStart uint64    `json:"processStart"`
	Started      time.Time `json:"started"`
}

// RunDir is the run directory to use: flag if set, else $SKIFF_RUN_DIR, else DefaultRunDir.
func RunDir(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv(RunDirEnv); env != "" {
		return env
	}
	return DefaultRunDir
}

// FileName is the record's file name: the node name and a hash of its data dir, so that nodes
// of the same name on several data dirs (clusters) keep a record each.
func FileName(node, dataDir string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(filepath.Clean(dataDir)))
	safe := strings.Map(func(r rune) rune {
		if r == '/' || r == 0 {
			return '_'
		}
		return r
	}, node)
	return fmt.Sprintf("%s-%08x.json", safe, h.Sum32())
}

// Validate checks the fields killall relies on.
func (r Record) Validate() error {
	switch {
	case r.Node == "":
		return errors.New("no node name")
	case !filepath.IsAbs(r.DataDir) || !filepath.IsAbs(r.NodeDir):
		return fmt.Errorf("data dir %q and node dir %q must be absolute", r.DataDir, r.NodeDir)
	case !filepath.IsAbs(r.ContainerdSocket):
		return fmt.Errorf("containerd socket %q must be absolute", r.ContainerdSocket)
	case r.Bridge == "" || len(r.Bridge) > 15:
		return fmt.Errorf("bridge name %q", r.Bridge)
	}
	return nil
}

// Write writes r into runDir and its copy into r.NodeDir (atomically: a temporary file renamed).
func Write(runDir string, r Record) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("node record: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	for _, p := range []string{filepath.Join(runDir, FileName(r.Node, r.DataDir)), filepath.Join(r.NodeDir, DataDirCopy)} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return fmt.Errorf("node record: %w", err)
		}
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			return fmt.Errorf("node record: %w", err)
		}
		if err := os.Rename(tmp, p); err != nil {
			return fmt.Errorf("node record: %w", err)
		}
	}
	return nil
}

// Read reads one record file.
func Read(path string) (Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Record{}, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("node record %s: %w", path, err)
	}
	if err := r.Validate(); err != nil {
		return Record{}, fmt.Errorf("node record %s: %w", path, err)
	}
	return r, nil
}

// List reads the records of runDir, sorted by node and data dir. A missing run dir has none;
// unreadable or invalid files are reported in errs and skipped.
func List(runDir string) (recs []Record, errs []error) {
	entries, err := os.ReadDir(runDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, []error{fmt.Errorf("reading the run dir: %w", err)}
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		r, err := Read(filepath.Join(runDir, e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		recs = append(recs, r)
	}
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].Node != recs[j].Node {
			return recs[i].Node < recs[j].Node
		}
		return recs[i].DataDir < recs[j].DataDir
	})
	return recs, errs
}

// Remove deletes the record of r from runDir (a missing one is fine).
func Remove(runDir string, r Record) error {
	err := os.Remove(filepath.Join(runDir, FileName(r.Node, r.DataDir)))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// ForDataDir returns the records of recs whose data dir is dataDir.
func ForDataDir(recs []Record, dataDir string) []Record {
	var out []Record
	for _, r := range recs {
		if filepath.Clean(r.DataDir) == filepath.Clean(dataDir) {
			out = append(out, r)
		}
	}
	return out
}

// Conflicts returns the records of other data dirs whose node uses the same bridge as r and
// whose process still runs (running tells): two live nodes cannot share a bridge.
func Conflicts(recs []Record, r Record, running func(Record) bool) []Record {
	var out []Record
	for _, o := range recs {
		if o.Bridge == r.Bridge && filepath.Clean(o.NodeDir) != filepath.Clean(r.NodeDir) && running(o) {
			out = append(out, o)
		}
	}
	return out
}
