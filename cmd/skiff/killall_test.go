package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/nodeagent/podnet"
	"github.com/skiff-dev/skiff/nodeagent/runtime/containerd"
)

func TestRecordFromContainerdDir(t *testing.T) {
	dataDir := t.TempDir()
	cfg := containerd.Config{DataDir: filepath.Join(dataDir, "node", "containerd"), NodeName: "clean-a",
		PodCIDR: "10.244.180.0/24", SandboxImage: "127.0.0.1:5000/skiff/pause:3.10", RegistryMirror: "127.0.0.1:5000"}
	if err := cfg.WriteFiles("runc"); err != nil {
		t.Fatal(err)
	}
	r, err := recordFromContainerdDir(cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Node != "clean-a" || r.DataDir != dataDir || r.NodeDir != filepath.Join(dataDir, "node") ||
		r.Bridge != cfg.Bridge() || r.PodCIDR != "10.244.180.0/24" || r.ContainerdSocket != cfg.Socket() ||
		r.ContainerdConfig != cfg.ConfigPath() || r.ProxyTable != "skiff-proxy-clean-a" ||
		r.NetpolTable != "skiff-netpol-clean-a" {
		t.Errorf("record = %+v", r)
	}
	// Another program's containerd config is not Skiff's.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "config.toml"), []byte("version = 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := recordFromContainerdDir(other); err == nil || isSkiffContainerd(other) {
		t.Errorf("a foreign containerd config was taken for Skiff's")
	}
}

func TestUnrecordedNodes(t *testing.T) {
	dataDir := t.TempDir()
	cfg := containerd.Config{DataDir: filepath.Join(dataDir, "node", "containerd"), NodeName: "clean-b",
		PodCIDR: "10.244.181.0/24", SandboxImage: "p"}
	if err := cfg.WriteFiles("runc"); err != nil {
		t.Fatal(err)
	}
	shim := func(pid int, sock string) podnet.Proc {
		return podnet.Proc{Pid: pid, Args: []string{"containerd-shim-runc-v2", "-id", "x", "-address", sock}}
	}
	procs := []podnet.Proc{shim(10, cfg.Socket()), shim(11, cfg.Socket()), shim(12, "/run/containerd/containerd.sock"),
		{Pid: 13, Args: []string{"sleep"}}}
	got := unrecordedNodes(procs, nil)
	if len(got) != 1 || got[0].Node != "clean-b" {
		t.Errorf("unrecordedNodes = %+v, want clean-b once (not the system containerd's shims)", got)
	}
	if got := unrecordedNodes(procs, got); len(got) != 0 {
		t.Errorf("a recorded node is found again: %+v", got)
	}
}

func TestCheckResettable(t *testing.T) {
	skiffDir := t.TempDir()
	if err := os.Mkdir(filepath.Join(skiffDir, "pki"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := checkResettable(skiffDir); err != nil {
		t.Errorf("a Skiff data dir: %v", err)
	}
	for dir, want := range map[string]string{
		t.TempDir():                           "does not look like a Skiff data dir",
		filepath.Join(t.TempDir(), "missing"): "no such file",
		"/":                                   "refusing",
	} {
		if err := checkResettable(dir); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checkResettable(%s) = %v, want %q", dir, err, want)
		}
	}
}

func TestDataDirArg(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"skiff", "up", "--data-dir", "/d1"}, "/d1"},
		{[]string{"skiff", "up", "--data-dir=/d2", "--agent=false"}, "/d2"},
		{[]string{"skiff", "up"}, ""},
	} {
		if got := dataDirArg(podnet.Proc{Pid: os.Getpid(), Args: tc.args}); got != tc.want {
			t.Errorf("dataDirArg(%v) = %q, want %q", tc.args, got, tc.want)
		}
	}
	cwd, _ := os.Getwd()
	if got := dataDirArg(podnet.Proc{Pid: os.Getpid(), Args: []string{"skiff", "up", "--data-dir", "rel"}}); got != filepath.Join(cwd, "rel") {
		t.Errorf("relative --data-dir = %q, want it under the process's cwd %s", got, cwd)
	}
}
