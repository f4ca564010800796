package etcd

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiff-dev/skiff/apiserver/pki"
)

// clusterTLS makes an etcd CA, a member certificate and a client certificate under dir.
func clusterTLS(t *testing.T, dir string) *Cluster {
	t.Helper()
	ca, err := pki.LoadOrCreateCA(dir, "ca", "test-etcd-ca")
	if err != nil {
		t.Fatal(err)
	}
	cl := &Cluster{AdvertiseIP: net.ParseIP("127.0.0.1"), CAFile: filepath.Join(dir, "ca.crt"),
		MemberCertFile: filepath.Join(dir, "member.crt"), MemberKeyFile: filepath.Join(dir, "member.key"),
		ClientCertFile: filepath.Join(dir, "client.crt"), ClientKeyFile: filepath.Join(dir, "client.key")}
	if err := ca.EnsurePair(cl.MemberCertFile, cl.MemberKeyFile, pki.CertSpec{CommonName: "m", IPs: []net.IP{net.ParseIP("127.0.0.1")}, Server: true, Client: true}); err != nil {
		t.Fatal(err)
	}
	if err := ca.EnsurePair(cl.ClientCertFile, cl.ClientKeyFile, pki.CertSpec{CommonName: "client", Client: true}); err != nil {
		t.Fatal(err)
	}
	return cl
}

// TestClusterMemberSnapshotRestore: a clustered member serves TLS only to clients of its CA and
// writes its client info; a snapshot of it restores into a new data dir that a single member
// starts from with every key, its revision bumped past the old one.
func TestClusterMemberSnapshotRestore(t *testing.T) {
	base := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	infoFile := filepath.Join(base, "client.json")
	srv, err := Start(ctx, Config{Dir: filepath.Join(base, "etcd"), Name: "m", Cluster: clusterTLS(t, filepath.Join(base, "pki")), ClientInfoFile: infoFile})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !srv.IsLeader() || len(srv.Members()) != 1 || srv.Members()[0].Name != "m" {
		t.Fatalf("members %+v, leader %v", srv.Members(), srv.IsLeader())
	}
	ci, err := ReadClientInfo(infoFile)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := ci.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(cc)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	var lastRev int64
	for _, k := range []string{"/registry/a", "/registry/b", "/registry/c"} {
		resp, err := cli.Put(ctx, k, "v"+k)
		if err != nil {
			t.Fatal(err)
		}
		lastRev = resp.Header.Revision
	}
	// Without a client certificate the member refuses the connection.
	pc, err := ClientInfo{Endpoints: ci.Endpoints, CAFile: ci.CAFile}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c2, err := clientv3.New(pc); err == nil {
		gctx, gcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = c2.Get(gctx, "/registry/a", clientv3.WithSerializable())
		gcancel()
		c2.Close()
		if err == nil {
			t.Errorf("a client without a certificate read from the member")
		}
	}

	snap := filepath.Join(base, "snap.db")
	if _, err := SaveSnapshot(ctx, ci, snap); err != nil {
		t.Fatal(err)
	}
	rev, keys, err := SnapshotStatus(snap)
	if err != nil || rev != lastRev || keys < 3 {
		t.Fatalf("snapshot status: rev %d (want %d), %d keys, %v", rev, lastRev, keys, err)
	}
	restored := filepath.Join(base, "restored")
	if err := RestoreSnapshot(snap, restored, "", "http://127.0.0.1:2380"); err != nil {
		t.Fatal(err)
	}
	if err := RestoreSnapshot(snap, restored, "", "http://127.0.0.1:2380"); err == nil {
		t.Errorf("restoring over an existing data dir succeeded")
	}
	if _, err := os.Stat(filepath.Join(restored, "member", "wal")); err != nil {
		t.Fatal(err)
	}
	srv2, err := Start(ctx, Config{Dir: restored})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	cc2, _ := srv2.Client.ClientConfig()
	cli2, err := clientv3.New(cc2)
	if err != nil {
		t.Fatal(err)
	}
	defer cli2.Close()
	got, err := cli2.Get(ctx, "/registry/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != 3 || string(got.Kvs[1].Value) != "v/registry/b" {
		t.Errorf("restored keys: %v", got.Kvs)
	}
	if got.Header.Revision < lastRev+RestoreBump {
		t.Errorf("restored revision %d, want at least %d (bumped)", got.Header.Revision, lastRev+RestoreBump)
	}
}

// TestStartChoosesPortsAgain: a port found free but taken before etcd listens (another test
// process) is chosen again instead of failing the start.
func TestStartChoosesPortsAgain(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	picks := 0
	pickPort = func() (int, error) {
		picks++
		if picks == 1 {
			return taken.Addr().(*net.TCPAddr).Port, nil
		}
		return freePort()
	}
	defer func() { pickPort = freePort }()
	dir := t.TempDir()
	s, err := Start(context.Background(), Config{Dir: filepath.Join(dir, "etcd"), LogFile: filepath.Join(dir, "etcd.log"), ForTests: true})
	if err != nil {
		t.Fatalf("start with a taken port: %v", err)
	}
	defer s.Close()
	if picks != 4 {
		t.Errorf("ports picked %d times, want 4 (two for the failed start, two again)", picks)
	}
}
