package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/nodeagent/noderecord"
	"github.com/skiff-dev/skiff/nodeagent/podnet"
)

// dataDirMarkers are entries of which a Skiff data dir has at least one.
var dataDirMarkers = []string{"pki", "etcd", "node", "kubeconfig", "agent.kubeconfig", "node.kubeconfig", "registry.addr"}

func newResetCommand() *cobra.Command {
	dataDir := apiserver.NewOptions().DataDir
	var runDir string
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Remove the node(s) of a data dir as `skiff killall` does, then wipe the data dir",
		Long: "`skiff killall` for the Skiff node(s) of --data-dir only (their containers, shims, network\n" +
			"namespaces, veths, bridge, proxy table and mounts), then the data dir is removed: the\n" +
			"cluster's etcd, credentials and images are gone. Refused while a skiff process serves it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if os.Geteuid() != 0 {
				return fmt.Errorf("skiff reset must run as root (uid %d)", os.Geteuid())
			}
			dir, err := filepath.Abs(dataDir)
			if err != nil {
				return err
			}
			if err := checkResettable(dir); err != nil {
				return err
			}
			rdir := noderecord.RunDir(runDir)
			recs := nodesOfDataDir(rdir, dir)
			if err := refuseServed(dir, recs); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if err := killNodes(cmd.Context(), w, rdir, recs); err != nil {
				return fmt.Errorf("%w (the data dir %s is kept)", err, dir)
			}
			if _, err := podnet.UnmountUnder(dir); err != nil {
				return fmt.Errorf("%w (the data dir %s is kept)", err, dir)
			}
			mounts, err := podnet.Mounts()
			if err != nil {
				return err
			}
			if left := podnet.MountsUnder(mounts, dir); len(left) > 0 {
				return fmt.Errorf("mounts remain under %s, not removing it: %s", dir, quoteList(left))
			}
			if err := os.RemoveAll(dir); err != nil {
				return fmt.Errorf("removing the data dir: %w", err)
			}
			fmt.Fprintf(w, "Removed the data dir %s.\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", dataDir, "The data dir to wipe.")
	runDirFlag(cmd.Flags(), &runDir, "Run directory where the data dir's nodes recorded themselves")
	return cmd
}

// checkResettable refuses a missing dir, the root and a dir that is not a Skiff data dir.
func checkResettable(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("data dir %s is not a directory", dir)
	}
	if home, _ := os.UserHomeDir(); dir == "/" || dir == filepath.Clean(home) {
		return fmt.Errorf("refusing to wipe %s", dir)
	}
	for _, m := range dataDirMarkers {
		if _, err := os.Stat(filepath.Join(dir, m)); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%s does not look like a Skiff data dir (it has none of %s): not removing it", dir, quoteList(dataDirMarkers))
}

// nodesOfDataDir returns the nodes of a data dir: recorded in the run dir, the record's copy in
// the data dir, or rebuilt from the node's containerd dir; each containerd once.
func nodesOfDataDir(runDir, dir string) []noderecord.Record {
	all, _ := noderecord.List(runDir)
	recs := noderecord.ForDataDir(all, dir)
	nodeDir := filepath.Join(dir, "node")
	if r, err := noderecord.Read(filepath.Join(nodeDir, noderecord.DataDirCopy)); err == nil {
		recs = append(recs, r)
	}
	if r, err := recordFromContainerdDir(filepath.Join(nodeDir, "containerd")); err == nil {
		recs = append(recs, r)
	}
	var out []noderecord.Record
	for _, r := range recs {
		if !slices.ContainsFunc(out, func(o noderecord.Record) bool {
			return filepath.Clean(o.ContainerdSocket) == filepath.Clean(r.ContainerdSocket)
		}) {
			out = append(out, r)
		}
	}
	return out
}

// refuseServed fails while a skiff process serves dir: a recorded node's process still runs, a
// skiff process names it in --data-dir, or its etcd database is locked.
func refuseServed(dir string, recs []noderecord.Record) error {
	for _, r := range recs {
		if recordRunning(r) {
			return fmt.Errorf("skiff (pid %d) still serves %s (node %s): stop it first (or `skiff killall`)", r.PID, dir, r.Node)
		}
	}
	procs, err := podnet.ListProcs()
	if err != nil {
		return err
	}
	for _, p := range procs {
		if !p.IsSkiff() || p.Pid == os.Getpid() {
			continue
		}
		if d := dataDirArg(p); d != "" && filepath.Clean(d) == dir {
			return fmt.Errorf("skiff (pid %d) still serves %s: stop it first", p.Pid, dir)
		}
	}
	if locked, err := fileLocked(filepath.Join(dir, "etcd", "member", "snap", "db")); err == nil && locked {
		return fmt.Errorf("the etcd database of %s is in use by a running process: stop the skiff that serves it first", dir)
	}
	return nil
}

// dataDirArg is the --data-dir of a skiff process, made absolute against its working directory.
func dataDirArg(p podnet.Proc) string {
	var d string
	for i, a := range p.Args {
		if (a == "--data-dir" || a == "-data-dir") && i+1 < len(p.Args) {
			d = p.Args[i+1]
		} else if v, ok := cutAny(a, "--data-dir=", "-data-dir="); ok {
			d = v
		}
	}
	if d == "" || filepath.IsAbs(d) {
		return d
	}
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", p.Pid))
	if err != nil {
		return ""
	}
	return filepath.Join(cwd, d)
}

func cutAny(s string, prefixes ...string) (string, bool) {
	for _, p := range prefixes {
		if len(s) > len(p) && s[:len(p)] == p {
			return s[len(p):], true
		}
	}
	return "", false
}

// fileLocked tells whether another process holds a flock on path (bbolt, etcd's database,
// holds an exclusive one while open).
func fileLocked(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return true, nil
		}
		return false, err
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false, nil
}
