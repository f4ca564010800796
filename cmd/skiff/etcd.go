package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/controlplane"
	"github.com/skiff-dev/skiff/apiserver/etcd"
)

// Entries of a snapshot archive.
const (
	archiveDB       = "etcd/snapshot.db"
	archiveManifest = "skiff-snapshot.json"
)

type snapshotManifest struct {
	Created       time.Time `json:"created"`
	EtcdVersion   string    `json:"etcdVersion"`
	Revision      int64     `json:"revision"`
	Keys          int       `json:"keys"`
	KubernetesVer string    `json:"kubernetesVersion"`
}

func newEtcdCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "etcd",
		Short: "Back up, restore and inspect the control plane's embedded etcd",
	}
	snap := &cobra.Command{Use: "snapshot", Short: "Save and restore snapshots of the cluster's state"}
	snap.AddCommand(newSnapshotSaveCommand(), newSnapshotRestoreCommand())
	member := &cobra.Command{Use: "member", Short: "List and remove control-plane etcd members"}
	member.AddCommand(newMemberListCommand(), newMemberRemoveCommand())
	cmd.AddCommand(snap, member)
	return cmd
}

// etcdClientFlags locate a running member: its data dir's etcd-client.json, or explicit values.
type etcdClientFlags struct {
	dataDir                     string
	endpoint, cacert, cert, key string
}

func (f *etcdClientFlags) bind(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.dataDir, "data-dir", apiserver.NewOptions().DataDir, "Data dir of a running control plane, whose "+controlplane.ClientInfoFile+" locates its etcd.")
	fs.StringVar(&f.endpoint, "endpoint", "", "etcd client URL (instead of the data dir's).")
	fs.StringVar(&f.cacert, "cacert", "", "CA of the etcd server (with --endpoint over https).")
	fs.StringVar(&f.cert, "cert", "", "Client certificate for etcd (with --endpoint over https).")
	fs.StringVar(&f.key, "key", "", "Client key for etcd (with --endpoint over https).")
}

func (f *etcdClientFlags) clientInfo() (etcd.ClientInfo, error) {
	if f.endpoint != "" {
		return etcd.ClientInfo{Endpoints: []string{f.endpoint}, CAFile: f.cacert, CertFile: f.cert, KeyFile: f.key}, nil
	}
	p := filepath.Join(f.dataDir, controlplane.ClientInfoFile)
	ci, err := etcd.ReadClientInfo(p)
	if errors.Is(err, os.ErrNotExist) {
		return ci, fmt.Errorf("%s does not exist: is a Skiff control plane running on --data-dir %s? (or pass --endpoint)", p, f.dataDir)
	}
	return ci, err
}

func newSnapshotSaveCommand() *cobra.Command {
	var f etcdClientFlags
	var etcdOnly bool
	cmd := &cobra.Command{
		Use:   "save FILE",
		Short: "Save a snapshot of a running control plane into FILE",
		Long: "Stream a consistent snapshot from the running control plane's etcd member and write FILE:\n" +
			"an archive (tar.gz, mode 0600) of the etcd snapshot and the cluster-wide credentials (the\n" +
			"cluster CA and its key, the etcd CA, ...), so that `skiff etcd snapshot restore` gives a\n" +
			"working cluster with the same CA, on this machine or another. Keep it as safe as the CA key.\n" +
			"--etcd-only writes the bare etcd snapshot instead (restorable with etcdutl too).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ci, err := f.clientInfo()
			if err != nil {
				return err
			}
			out := args[0]
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Minute)
			defer cancel()
			dbPath := out
			if !etcdOnly {
				tmp, err := os.MkdirTemp(filepath.Dir(out), ".skiff-snapshot-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				dbPath = filepath.Join(tmp, "snapshot.db")
			}
			version, err := etcd.SaveSnapshot(ctx, ci, dbPath)
			if err != nil {
				return err
			}
			rev, keys, err := etcd.SnapshotStatus(dbPath)
			if err != nil {
				return err
			}
			if !etcdOnly {
				files, err := controlplane.SharedFiles(f.dataDir)
				if err != nil {
					return err
				}
				if _, ok := files["pki/ca.key"]; !ok {
					return fmt.Errorf("%s has no pki/ca.key: run save on a control-plane member's data dir (or use --etcd-only)", f.dataDir)
				}
				m := snapshotManifest{Created: time.Now().UTC(), EtcdVersion: version, Revision: rev, Keys: keys, KubernetesVer: apiserver.KubernetesVersion}
				if err := writeArchive(out, dbPath, files, m); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Saved a snapshot at revision %d (%d keys) to %s\n", rev, keys, out)
			return nil
		},
	}
	f.bind(cmd)
	cmd.Flags().BoolVar(&etcdOnly, "etcd-only", false, "Write the bare etcd snapshot, without the cluster's credentials.")
	return cmd
}

func writeArchive(out, dbPath string, files map[string][]byte, m snapshotManifest) error {
	tmp := out + ".tmp"
	fh, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	bw := bufio.NewWriter(fh)
	gz := gzip.NewWriter(bw)
	tw := tar.NewWriter(gz)
	add := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: m.Created, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}
	mb, _ := json.MarshalIndent(m, "", "  ")
	if err := add(archiveManifest, int64(len(mb)), bytes.NewReader(mb)); err != nil {
		fh.Close()
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := add(name, int64(len(files[name])), bytes.NewReader(files[name])); err != nil {
			fh.Close()
			return err
		}
	}
	db, err := os.Open(dbPath)
	if err != nil {
		fh.Close()
		return err
	}
	st, err := db.Stat()
	if err == nil {
		err = add(archiveDB, st.Size(), db)
	}
	db.Close()
	for _, c := range []func() error{tw.Close, gz.Close, bw.Flush, fh.Sync} {
		if err == nil {
			err = c()
		}
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return os.Rename(tmp, out)
}

// readArchive extracts the shared files (checked paths) and writes the etcd snapshot to dbPath.
func readArchive(path, dbPath string) (map[string][]byte, *snapshotManifest, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	gz, err := gzip.NewReader(bufio.NewReader(fh))
	if err != nil {
		return nil, nil, fmt.Errorf("%s is not a snapshot archive: %w", path, err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	var m *snapshotManifest
	gotDB := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			return nil, nil, fmt.Errorf("%s: unexpected entry %q", path, h.Name)
		}
		switch h.Name {
		case archiveDB:
			out, err := os.OpenFile(dbPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err != nil {
				return nil, nil, err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, nil, fmt.Errorf("extracting the etcd snapshot: %w", err)
			}
			gotDB = true
		case archiveManifest:
			b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
			if err != nil {
				return nil, nil, err
			}
			m = &snapshotManifest{}
			if err := json.Unmarshal(b, m); err != nil {
				return nil, nil, fmt.Errorf("%s: bad manifest: %w", path, err)
			}
		default:
			if err := controlplane.CheckSharedPath(h.Name); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", path, err)
			}
			b, err := io.ReadAll(io.LimitReader(tr, 8<<20))
			if err != nil {
				return nil, nil, err
			}
			files[h.Name] = b
		}
	}
	if !gotDB || m == nil {
		return nil, nil, fmt.Errorf("%s is not a complete skiff snapshot archive (no %s or %s)", path, archiveDB, archiveManifest)
	}
	return files, m, nil
}

func isGzip(path string) (bool, error) {
	fh, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer fh.Close()
	var b [2]byte
	if _, err := io.ReadFull(fh, b[:]); err != nil {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	return b[0] == 0x1f && b[1] == 0x8b, nil
}

func newSnapshotRestoreCommand() *cobra.Command {
	var dataDir, pkiFrom string
	cmd := &cobra.Command{
		Use:   "restore FILE --data-dir NEW",
		Short: "Make a new data dir from a snapshot",
		Long: "Create the data dir NEW (which must not hold an etcd member yet) from FILE, a snapshot\n" +
			"archive of `skiff etcd snapshot save`: its etcd data (revisions bumped and the old ones\n" +
			"marked compacted, so clients that knew the old cluster relist) and the cluster's\n" +
			"credentials, so existing kubeconfigs keep working. Then start it with\n" +
			"`skiff server --data-dir NEW` (or `skiff up`); add --cluster-init to grow it into a highly\n" +
			"available control plane. For a bare etcd snapshot (--etcd-only), --pki-from names the old\n" +
			"data dir whose credentials to copy; without it a new CA is made and old kubeconfigs fail.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dataDir == "" {
				return fmt.Errorf("--data-dir is required: the new data dir to create")
			}
			etcdDir := filepath.Join(dataDir, "etcd")
			if entries, err := os.ReadDir(etcdDir); err == nil && len(entries) > 0 {
				return fmt.Errorf("%s already holds etcd data: restore into a new data dir", etcdDir)
			}
			archive, err := isGzip(args[0])
			if err != nil {
				return err
			}
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return err
			}
			tmp, err := os.MkdirTemp(dataDir, ".restore-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			dbPath := args[0]
			var files map[string][]byte
			if archive {
				dbPath = filepath.Join(tmp, "snapshot.db")
				if files, _, err = readArchive(args[0], dbPath); err != nil {
					return err
				}
			} else if pkiFrom != "" {
				if files, err = controlplane.SharedFiles(pkiFrom); err != nil {
					return err
				}
				if _, ok := files["pki/ca.key"]; !ok {
					return fmt.Errorf("--pki-from %s has no pki/ca.key", pkiFrom)
				}
			} else {
				fmt.Fprintln(cmd.ErrOrStderr(), "Warning: a bare etcd snapshot and no --pki-from: the restored cluster gets a new CA; old kubeconfigs and node credentials will not work.")
			}
			if files != nil {
				if _, err := os.Stat(filepath.Join(dataDir, "pki", "ca.crt")); err == nil {
					return fmt.Errorf("%s already has a pki/ca.crt: restore into a new data dir", dataDir)
				}
			}
			// The etcd snapshot is restored into the data dir's etcd/ (a single member named as a
			// single server's, "default"; its peer URL is updated when it starts clustered).
			if err := os.RemoveAll(etcdDir); err != nil {
				return err
			}
			if err := etcd.RestoreSnapshot(dbPath, etcdDir, "default", "http://127.0.0.1:"+strconv.Itoa(apiserver.NewOptions().EtcdPeerPort)); err != nil {
				return err
			}
			if files != nil {
				if err := controlplane.WriteSharedFiles(dataDir, files); err != nil {
					return err
				}
			}
			rev, keys, err := etcd.SnapshotStatus(dbPath)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Restored %d keys (revision %d) into %s\n  start it with: skiff server --data-dir %s\n", keys, rev, dataDir, dataDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "The new data dir to create.")
	cmd.Flags().StringVar(&pkiFrom, "pki-from", "", "For a bare etcd snapshot: the old data dir whose cluster-wide credentials (pki/) to copy.")
	return cmd
}

func withEtcdClient(ctx context.Context, f *etcdClientFlags, do func(context.Context, *clientv3.Client) error) error {
	ci, err := f.clientInfo()
	if err != nil {
		return err
	}
	cli, err := ci.NewClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return do(ctx, cli)
}

func newMemberListCommand() *cobra.Command {
	var f etcdClientFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the etcd members of the control plane, and which one leads",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEtcdClient(cmd.Context(), &f, func(ctx context.Context, cli *clientv3.Client) error {
				list, err := cli.MemberList(ctx)
				if err != nil {
					return fmt.Errorf("listing members: %w", err)
				}
				var leader uint64
				if st, err := cli.Status(ctx, cli.Endpoints()[0]); err == nil {
					leader = st.Leader
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 3, ' ', 0)
				fmt.Fprintln(w, "ID\tNAME\tROLE\tPEER URLS\tCLIENT URLS")
				for _, m := range list.Members {
					role := "follower"
					switch {
					case m.IsLearner:
						role = "learner"
					case m.ID == leader:
						role = "leader"
					}
					fmt.Fprintf(w, "%x\t%s\t%s\t%v\t%v\n", m.ID, m.Name, role, m.PeerURLs, m.ClientURLs)
				}
				return w.Flush()
			})
		},
	}
	f.bind(cmd)
	return cmd
}

func newMemberRemoveCommand() *cobra.Command {
	var f etcdClientFlags
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a control-plane member from etcd (run against a member that stays)",
		Long: "Remove the etcd member NAME (a stopped or departing control-plane member) from the\n" +
			"cluster, through the etcd of the member on --data-dir. Its data dir cannot rejoin; wipe it\n" +
			"and join again with `skiff server --join`.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEtcdClient(cmd.Context(), &f, func(ctx context.Context, cli *clientv3.Client) error {
				list, err := cli.MemberList(ctx)
				if err != nil {
					return fmt.Errorf("listing members: %w", err)
				}
				for _, m := range list.Members {
					if m.Name == args[0] {
						if _, err := cli.MemberRemove(ctx, m.ID); err != nil {
							return fmt.Errorf("removing member %s: %w", args[0], err)
						}
						fmt.Fprintf(cmd.OutOrStdout(), "Removed member %s (%x)\n", m.Name, m.ID)
						return nil
					}
				}
				return fmt.Errorf("no etcd member named %q", args[0])
			})
		},
	}
	f.bind(cmd)
	return cmd
}
