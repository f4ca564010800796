package etcd

import (
	"context"
	"fmt"
	"os"

	"go.etcd.io/etcd/client/v3/snapshot"
	utilsnapshot "go.etcd.io/etcd/etcdutl/v3/snapshot"
	"go.uber.org/zap"
)

// SaveSnapshot streams a point-in-time snapshot of the member at ci's first endpoint into path
// and returns the server's version.
func SaveSnapshot(ctx context.Context, ci ClientInfo, path string) (string, error) {
	cc, err := ci.ClientConfig()
	if err != nil {
		return "", err
	}
	cc.Endpoints = cc.Endpoints[:1]
	v, err := snapshot.SaveWithVersion(ctx, zap.NewNop(), cc, path)
	if err != nil {
		return "", fmt.Errorf("saving an etcd snapshot from %s: %w", cc.Endpoints[0], err)
	}
	return v, nil
}

// RestoreBump is how far a restore moves the revision forward (and marks the older ones
// compacted), as upstream recommends for Kubernetes: watchers and informers that knew the
// cluster before relist instead of waiting for revisions that already happened.
const RestoreBump = 1_000_000_000

// RestoreSnapshot creates the member data dir dir (which must not exist or be empty) from the
// snapshot file, as a new single-member cluster whose member is name on peerURL.
func RestoreSnapshot(file, dir, name, peerURL string) error {
	if name == "" {
		name = "default"
	}
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("reading the snapshot: %w", err)
	}
	err := utilsnapshot.NewV3(zap.NewNop()).Restore(utilsnapshot.RestoreConfig{
		SnapshotPath:        file,
		Name:                name,
		OutputDataDir:       dir,
		PeerURLs:            []string{peerURL},
		InitialCluster:      name + "=" + peerURL,
		InitialClusterToken: "skiff",
		RevisionBump:        RestoreBump,
		MarkCompacted:       true,
	})
	if err != nil {
		return fmt.Errorf("restoring %s into %s: %w", file, dir, err)
	}
	return nil
}

// SnapshotStatus reports a snapshot file's revision and key count.
func SnapshotStatus(file string) (revision int64, keys int, err error) {
	st, err := utilsnapshot.NewV3(zap.NewNop()).Status(file)
	if err != nil {
		return 0, 0, fmt.Errorf("reading snapshot %s: %w", file, err)
	}
	return st.Revision, st.TotalKey, nil
}
