package noderecord

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func testRecord(node, dataDir string) Record {
	nodeDir := filepath.Join(dataDir, "node")
	c := filepath.Join(nodeDir, "containerd")
	return Record{Node: node, DataDir: dataDir, NodeDir: nodeDir, ContainerdConfig: filepath.Join(c, "config.toml"),
		ContainerdSocket: filepath.Join(c, "containerd.sock"), ContainerdRoot: filepath.Join(c, "root"),
		ContainerdState: filepath.Join(c, "state"), Bridge: "skiff-d7d21418", PodCIDR: "10.244.180.0/24",
		ProxyTable: "skiff-proxy-" + node, PID: 4242, ProcessStart: 99, Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func TestRunDir(t *testing.T) {
	t.Setenv(RunDirEnv, "")
	if got := RunDir(""); got != DefaultRunDir {
		t.Errorf("RunDir() = %q, want %q", got, DefaultRunDir)
	}
	t.Setenv(RunDirEnv, "/tmp/env-run")
	if got := RunDir(""); got != "/tmp/env-run" {
		t.Errorf("RunDir() with $%s = %q", RunDirEnv, got)
	}
	if got := RunDir("/tmp/flag-run"); got != "/tmp/flag-run" {
		t.Errorf("the flag wins over the environment: %q", got)
	}
}

func TestFileName(t *testing.T) {
	a, b := FileName("clean-a", "/d1"), FileName("clean-a", "/d2")
	if a == b || !strings.HasPrefix(a, "clean-a-") || !strings.HasSuffix(a, ".json") {
		t.Errorf("FileName: %q, %q: want one file per node and data dir", a, b)
	}
	if FileName("clean-a", "/d1/") != a {
		t.Errorf("FileName depends on a trailing slash")
	}
	if n := FileName("a/../b", "/d"); strings.Contains(n, "/") {
		t.Errorf("FileName(%q) = %q holds a slash", "a/../b", n)
	}
}

func TestWriteListRemove(t *testing.T) {
	runDir := filepath.Join(t.TempDir(), "run", "nodes")
	r1, r2 := testRecord("clean-b", t.TempDir()), testRecord("clean-a", t.TempDir())
	for _, r := range []Record{r1, r2} {
		if err := Write(runDir, r); err != nil {
			t.Fatal(err)
		}
	}
	// A copy in the node's dir.
	if cp, err := Read(filepath.Join(r1.NodeDir, DataDirCopy)); err != nil || !reflect.DeepEqual(cp, r1) {
		t.Errorf("the data dir's copy: %+v, %v", cp, err)
	}
	// A broken file is reported and skipped; other files are ignored.
	if err := os.WriteFile(filepath.Join(runDir, "broken.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(runDir, "README"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	recs, errs := List(runDir)
	if !reflect.DeepEqual(recs, []Record{r2, r1}) {
		t.Errorf("List = %+v, want both records sorted by node", recs)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "broken.json") {
		t.Errorf("List errors = %v, want the broken file", errs)
	}
	if got := ForDataDir(recs, r1.DataDir+"/"); !reflect.DeepEqual(got, []Record{r1}) {
		t.Errorf("ForDataDir = %+v", got)
	}
	if err := Remove(runDir, r1); err != nil {
		t.Fatal(err)
	}
	if err := Remove(runDir, r1); err != nil {
		t.Errorf("removing a missing record: %v", err)
	}
	if recs, _ := List(runDir); !reflect.DeepEqual(recs, []Record{r2}) {
		t.Errorf("after Remove: %+v", recs)
	}
	if recs, errs := List(filepath.Join(t.TempDir(), "missing")); len(recs) != 0 || len(errs) != 0 {
		t.Errorf("a missing run dir: %v, %v", recs, errs)
	}
}

func TestValidate(t *testing.T) {
	good := testRecord("clean-a", "/d")
	for name, mutate := range map[string]func(*Record){
		"no node":           func(r *Record) { r.Node = "" },
		"relative data dir": func(r *Record) { r.DataDir = "d" },
		"relative socket":   func(r *Record) { r.ContainerdSocket = "x.sock" },
		"no bridge":         func(r *Record) { r.Bridge = "" },
		"long bridge":       func(r *Record) { r.Bridge = "skiff-0123456789abcdef" },
	} {
		r := good
		mutate(&r)
		if err := r.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
		if err := Write(t.TempDir(), r); err == nil {
			t.Errorf("%s: written", name)
		}
	}
	if err := good.Validate(); err != nil {
		t.Errorf("good record: %v", err)
	}
}

func TestConflicts(t *testing.T) {
	self := testRecord("clean-a", "/d2")
	sameDir := testRecord("clean-a", "/d2") // this node's earlier run
	otherLive := testRecord("clean-a", "/d1")
	otherDead := testRecord("clean-a", "/d3")
	otherDead.PID = 1000
	otherBridge := testRecord("clean-b", "/d4")
	otherBridge.Bridge = "skiff-00000000"
	running := func(r Record) bool { return r.PID == 4242 }
	got := Conflicts([]Record{sameDir, otherLive, otherDead, otherBridge}, self, running)
	if !reflect.DeepEqual(got, []Record{otherLive}) {
		t.Errorf("Conflicts = %+v, want the running node of /d1 only", got)
	}
}
