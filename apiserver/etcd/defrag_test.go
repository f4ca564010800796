package etcd

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	testingclock "k8s.io/utils/clock/testing"
)

func TestShouldDefrag(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name         string
		policy       DefragPolicy
		total, inUse int64
		want         bool
	}{
		{"fresh small file", DefragPolicy{}, 2 * mib, 1 * mib, false},
		{"mostly free but under the minimum", DefragPolicy{}, 100 * mib, 40 * mib, false},
		{"after a burst: 900 of 1000 MiB free", DefragPolicy{}, 1000 * mib, 100 * mib, true},
		{"much free but not half", DefragPolicy{}, 1000 * mib, 600 * mib, false},
		{"exactly half is not more than half", DefragPolicy{}, 256 * mib, 128 * mib, false},
		{"custom policy", DefragPolicy{MinFree: 1 * mib, FreeRatio: 0.2}, 10 * mib, 7 * mib, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.policy.ShouldDefrag(tc.total, tc.inUse); got != tc.want {
				t.Errorf("ShouldDefrag(%d, %d) = %v, want %v", tc.total, tc.inUse, got, tc.want)
			}
		})
	}
}

// A member whose keys were written, deleted and compacted gives the free pages back.
func TestRunDefragShrinksTheFile(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	s, err := Start(ctx, Config{Dir: filepath.Join(dir, "etcd"), LogFile: filepath.Join(dir, "etcd.log"), ForTests: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cli, err := s.Client.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	value := strings.Repeat("x", 16<<10)
	for i := range 1000 {
		if _, err := cli.Put(ctx, fmt.Sprintf("/registry/k%04d", i), value); err != nil {
			t.Fatal(err)
		}
	}
	del, err := cli.Delete(ctx, "/registry/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, del.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	before, inUse := s.Sizes()
	policy := DefragPolicy{MinFree: 1 << 20}
	if !policy.ShouldDefrag(before, inUse) {
		t.Fatalf("sizes %d in use %d: expected enough free pages to defragment", before, inUse)
	}
	done, stop := context.WithCancel(ctx)
	stop() // one round: check, defragment, return
	s.RunDefrag(done, policy, testingclock.NewFakeClock(time.Now()))
	after, _ := s.Sizes()
	if after >= before/2 {
		t.Fatalf("file %d bytes after defragmentation, %d before", after, before)
	}
	t.Logf("database file %d KiB → %d KiB", before>>10, after>>10)
}
