package etcd

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiff-dev/skiff/apiserver/etcd/etcdmetrics"
)

// A compaction deletes in batches of CompactionBatchLimit revisions (etcd counts each batch in
// its compaction pause histogram): 200 revisions take one batch at etcd's default of 1,000, and
// about 20 at a limit of 10.
func TestCompactionBatchLimit(t *testing.T) {
	for _, tc := range []struct {
		limit        int
		fewest, most float64
	}{{0, 1, 1}, {10, 20, 22}} {
		t.Run(fmt.Sprintf("limit=%d", tc.limit), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			dir := t.TempDir()
			s, err := Start(ctx, Config{Dir: filepath.Join(dir, "etcd"), LogFile: filepath.Join(dir, "etcd.log"), ForTests: true, CompactionBatchLimit: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			cli := s.LocalClient()
			var rev int64
			for round := range 2 {
				for i := range 100 {
					resp, err := cli.Put(ctx, fmt.Sprintf("/registry/k%03d", i), fmt.Sprint(round))
					if err != nil {
						t.Fatal(err)
					}
					rev = resp.Header.Revision
				}
			}
			before := etcdmetrics.Value(t, "etcd_debugging_mvcc_db_compaction_pause_duration_milliseconds")
			if _, err := cli.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
				t.Fatal(err)
			}
			if n := etcdmetrics.Value(t, "etcd_debugging_mvcc_db_compaction_pause_duration_milliseconds") - before; n < tc.fewest || n > tc.most {
				t.Errorf("compaction of 200 revisions took %v batches, want %v to %v", n, tc.fewest, tc.most)
			}
		})
	}
}
