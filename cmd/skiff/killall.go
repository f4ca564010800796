package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/skiff-dev/skiff/nodeagent/cm"
	"github.com/skiff-dev/skiff/nodeagent/netpol"
	"github.com/skiff-dev/skiff/nodeagent/noderecord"
	"github.com/skiff-dev/skiff/nodeagent/podnet"
	"github.com/skiff-dev/skiff/nodeagent/proxy"
	"github.com/skiff-dev/skiff/nodeagent/routes"
)

const (
	// skiffStopGrace and containerdStopGrace are how long a recorded skiff process and an
	// orphaned containerd get after SIGTERM before SIGKILL.
	skiffStopGrace      = 30 * time.Second
	containerdStopGrace = 10 * time.Second
)

func newKillallCommand() *cobra.Command {
	var runDir string
	cmd := &cobra.Command{
		Use:   "killall",
		Short: "Stop every container of this machine's Skiff nodes and remove their network",
		Long: "As k3s's killall script: for every Skiff node recorded in the run directory (each node\n" +
			"records itself there when it starts; pods outlive their node), stop its skiff process if it\n" +
			"still runs, its containerd, every containerd shim with the containers below it, remove the\n" +
			"pods' network namespaces and veths, the node's bridge, its service proxy table\n" +
			"(nftables skiff-proxy-*) and the mounts under its data dir, then its record. Skiff's routes\n" +
			"(proto " + routes.Protocol + ") go too when no other Skiff node runs on the machine.\n" +
			"Without --run-dir (or SKIFF_RUN_DIR) it also finds the shims of Skiff containerds that\n" +
			"recorded nothing (by the config Skiff writes next to their socket). Data dirs are kept:\n" +
			"`skiff reset --data-dir D` also wipes one.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if os.Geteuid() != 0 {
				return fmt.Errorf("skiff killall must run as root (uid %d)", os.Geteuid())
			}
			scoped := runDir != "" || os.Getenv(noderecord.RunDirEnv) != ""
			dir := noderecord.RunDir(runDir)
			recs, errs := noderecord.List(dir)
			for _, err := range errs {
				fmt.Fprintf(cmd.ErrOrStderr(), "skiff killall: skipped %v\n", err)
			}
			if !scoped {
				procs, err := podnet.ListProcs()
				if err != nil {
					return err
				}
				recs = append(recs, unrecordedNodes(procs, recs)...)
			}
			if len(recs) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "No Skiff nodes recorded in %s.\n", dir)
			}
			return killNodes(cmd.Context(), cmd.OutOrStdout(), dir, recs)
		},
	}
	runDirFlag(cmd.Flags(), &runDir, "Run directory of the nodes to kill: only the nodes recorded there")
	return cmd
}

// killNodes stops the pods of the nodes and removes their network and mounts (see killall's
// help), then their records, in three rounds: every node's processes (so that no pod is
// started again meanwhile), then each bridge with what is attached to it (nodes of the same
// name share one), then each node's proxy table and mounts. It goes on after an error and
// reports them all; a node with an error keeps its record, for another try.
func killNodes(ctx context.Context, w io.Writer, runDir string, recs []noderecord.Record) error {
	var errs []error
	failed := make([]bool, len(recs))
	fail := func(i int, err error) {
		if err != nil {
			failed[i] = true
			errs = append(errs, fmt.Errorf("node %s (%s): %w", recs[i].Node, recs[i].DataDir, err))
		}
	}
	for i, r := range recs {
		fail(i, stopNodeProcesses(ctx, w, r))
	}
	bridges := map[string]error{}
	for _, r := range recs {
		if _, done := bridges[r.Bridge]; !done {
			bridges[r.Bridge] = removeBridge(ctx, w, r.Bridge)
		}
	}
	for i, r := range recs {
		fail(i, bridges[r.Bridge])
		fail(i, removeNodeLeftovers(ctx, w, r))
		if !failed[i] {
			fail(i, noderecord.Remove(runDir, r))
		}
	}
	if len(recs) > 0 {
		errs = append(errs, cleanupRoutes(ctx, w))
	}
	return errors.Join(errs...)
}

// nodeLabel names a node in killall's output.
func nodeLabel(r noderecord.Record) string { return fmt.Sprintf("node %s (%s)", r.Node, r.DataDir) }

// stopNodeProcesses stops the node's skiff process if it still runs (or it would start its pods
// again), its containerd, and kills its shims with the containers below them.
func stopNodeProcesses(ctx context.Context, w io.Writer, r noderecord.Record) error {
	var errs []error
	if recordRunning(r) {
		if p, ok := podnet.ReadProc(r.PID); ok {
			if err := podnet.StopProcess(ctx, p, skiffStopGrace); err != nil {
				errs = append(errs, fmt.Errorf("stopping skiff (pid %d): %w", r.PID, err))
			} else {
				fmt.Fprintf(w, "%s: stopped skiff (pid %d)\n", nodeLabel(r), r.PID)
			}
		}
	}
	procs, err := podnet.ListProcs()
	if err != nil {
		return err
	}
	for _, p := range procs {
		if c := p.ContainerdConfig(); c != "" && filepath.Clean(c) == filepath.Clean(r.ContainerdConfig) {
			if err := podnet.StopProcess(ctx, p, containerdStopGrace); err != nil {
				errs = append(errs, fmt.Errorf("stopping containerd (pid %d): %w", p.Pid, err))
			} else {
				fmt.Fprintf(w, "%s: stopped containerd (pid %d)\n", nodeLabel(r), p.Pid)
			}
		}
	}
	if procs, err = podnet.ListProcs(); err != nil {
		return err
	}
	var roots []int
	for _, s := range podnet.ShimsOf(procs, r.ContainerdSocket) {
		roots = append(roots, s.Pid)
	}
	if len(roots) > 0 {
		if err := podnet.KillTrees(ctx, procs, roots); err != nil {
			errs = append(errs, err)
		}
		fmt.Fprintf(w, "%s: killed %d containerd shims and their containers\n", nodeLabel(r), len(roots))
	}
	return errors.Join(errs...)
}

// removeBridge removes the network namespaces attached to a bridge (with any process left in
// them), their veths, and the bridge.
func removeBridge(ctx context.Context, w io.Writer, bridge string) error {
	procs, err := podnet.ListProcs()
	if err != nil {
		return err
	}
	var errs []error
	attached, err := podnet.Attached(bridge, procs)
	if err != nil {
		errs = append(errs, err)
	} else if len(attached) > 0 {
		if err := podnet.RemoveNetNS(ctx, procs, attached); err != nil {
			errs = append(errs, err)
		}
		fmt.Fprintf(w, "bridge %s: removed %d pod network namespaces and their veths\n", bridge, len(attached))
	}
	if podnet.LinkExists(bridge) {
		if err := podnet.DeleteBridge(bridge); err != nil {
			errs = append(errs, err)
		} else {
			fmt.Fprintf(w, "bridge %s: deleted\n", bridge)
		}
	}
	return errors.Join(errs...)
}

// removeNodeLeftovers removes the node's service proxy and NetworkPolicy tables, its cgroups
// (/skiff/<node>) and the mounts under its dir.
func removeNodeLeftovers(ctx context.Context, w io.Writer, r noderecord.Record) error {
	var errs []error
	for _, t := range []struct {
		name    string
		cleanup func(context.Context, string) error
	}{{r.ProxyTable, proxy.CleanupTable}, {r.NetpolTable, netpol.CleanupTable}} {
		if t.name == "" {
			continue
		}
		if err := t.cleanup(ctx, t.name); err != nil {
			errs = append(errs, err)
		} else {
			fmt.Fprintf(w, "%s: removed nftables table ip %s\n", nodeLabel(r), t.name)
		}
	}
	if found, err := cm.RemoveNode("/sys/fs/cgroup", cm.NodeRoot(r.Node)); err != nil {
		errs = append(errs, err)
	} else if found {
		fmt.Fprintf(w, "%s: removed cgroup %s\n", nodeLabel(r), cm.NodeRoot(r.Node))
	}
	unmounted, err := podnet.UnmountUnder(r.NodeDir)
	if err != nil {
		errs = append(errs, err)
	}
	if len(unmounted) > 0 {
		fmt.Fprintf(w, "%s: unmounted %d mounts under %s\n", nodeLabel(r), len(unmounted), r.NodeDir)
	}
	return errors.Join(errs...)
}

// cleanupRoutes removes Skiff's routes and FORWARD rules, which all the Skiff nodes of the
// machine share, unless another skiff process still runs.
func cleanupRoutes(ctx context.Context, w io.Writer) error {
	procs, err := podnet.ListProcs()
	if err != nil {
		return err
	}
	// Other nodes: skiff processes, or Skiff containerds (of agents run in other processes).
	var others []int
	for _, p := range procs {
		if p.Pid == os.Getpid() {
			continue
		}
		if c := p.ContainerdConfig(); p.IsSkiff() || (c != "" && isSkiffContainerd(filepath.Dir(c))) {
			others = append(others, p.Pid)
		}
	}
	if len(others) > 0 {
		fmt.Fprintf(w, "Kept Skiff's routes (proto %s): other Skiff nodes run (pids %v) and share them.\n", routes.Protocol, others)
		return nil
	}
	if err := routes.Cleanup(ctx, routes.Config{ManageForwarding: true}); err != nil {
		return err
	}
	fmt.Fprintf(w, "Removed Skiff's routes to pod subnets (ip route proto %s).\n", routes.Protocol)
	return nil
}

// unrecordedNodes finds the Skiff nodes that have shims running but no record in recs: the
// containerd a shim reports to is a Skiff one when the config next to its socket is Skiff's.
func unrecordedNodes(procs []podnet.Proc, recs []noderecord.Record) []noderecord.Record {
	known := map[string]bool{}
	for _, r := range recs {
		known[filepath.Clean(r.ContainerdSocket)] = true
	}
	var out []noderecord.Record
	for _, p := range procs {
		sock := p.ShimAddress()
		if sock == "" || known[filepath.Clean(sock)] {
			continue
		}
		known[filepath.Clean(sock)] = true
		if r, err := recordFromContainerdDir(filepath.Dir(sock)); err == nil && filepath.Clean(r.ContainerdSocket) == filepath.Clean(sock) {
			out = append(out, r)
		}
	}
	return out
}

// skiffConfigNode matches the first line of the config.toml that Skiff writes for a node's
// containerd, with the node's name.
var skiffConfigNode = regexp.MustCompile(`^# Written by Skiff: a containerd of its own for node ("(?:[^"\\]|\\.)*")`)

// isSkiffContainerd tells whether dir holds the config of a Skiff containerd.
func isSkiffContainerd(dir string) bool {
	_, err := skiffContainerdNode(dir)
	return err == nil
}

// skiffContainerdNode reads the node name from the first line of the config.toml of a Skiff
// containerd in dir.
func skiffContainerdNode(dir string) (string, error) {
	f, err := os.Open(filepath.Join(dir, "config.toml"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	m := skiffConfigNode.FindStringSubmatch(line)
	if m == nil {
		return "", fmt.Errorf("%s is not the config of a Skiff containerd", f.Name())
	}
	var node string
	if err := json.Unmarshal([]byte(m[1]), &node); err != nil {
		return "", fmt.Errorf("%s: node name: %w", f.Name(), err)
	}
	return node, nil
}

// recordFromContainerdDir rebuilds a node's record from its containerd dir
// (<data-dir>/node/containerd): the node name from config.toml, the bridge and subnet from the
// CNI config. It fails for a dir that is not a Skiff containerd's.
func recordFromContainerdDir(dir string) (noderecord.Record, error) {
	node, err := skiffContainerdNode(dir)
	if err != nil {
		return noderecord.Record{}, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "cni", "net.d", "10-skiff.conflist"))
	if err != nil {
		return noderecord.Record{}, err
	}
	var conf struct {
		Plugins []struct {
			Type   string `json:"type"`
			Bridge string `json:"bridge"`
			IPAM   struct {
				Ranges [][]struct {
					Subnet string `json:"subnet"`
				} `json:"ranges"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(b, &conf); err != nil {
		return noderecord.Record{}, fmt.Errorf("CNI config of %s: %w", dir, err)
	}
	nodeDir := filepath.Dir(dir)
	r := noderecord.Record{Node: node, DataDir: filepath.Dir(nodeDir), NodeDir: nodeDir,
		ContainerdConfig: filepath.Join(dir, "config.toml"), ContainerdSocket: filepath.Join(dir, "containerd.sock"),
		ContainerdRoot: filepath.Join(dir, "root"), ContainerdState: filepath.Join(dir, "state"),
		ProxyTable: proxy.TableNameFor(node), NetpolTable: netpol.TableNameFor(node)}
	for _, p := range conf.Plugins {
		if p.Type == "bridge" {
			r.Bridge = p.Bridge
			if len(p.IPAM.Ranges) > 0 && len(p.IPAM.Ranges[0]) > 0 {
				r.PodCIDR = p.IPAM.Ranges[0][0].Subnet
			}
		}
	}
	if err := r.Validate(); err != nil {
		return noderecord.Record{}, fmt.Errorf("%s: %w", dir, err)
	}
	return r, nil
}

// quoteList joins names for a message.
func quoteList(names []string) string { return strings.Join(names, ", ") }
