package apiserver_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/test/poll"
)

// The API server compacts its embedded member's history (the member has no compactor of its
// own): a revision written before a round is gone after the next one.
func TestAPIServerCompactsEtcd(t *testing.T) {
	s := apiservertest.StartOnWith(t, t.TempDir(), func(o *apiserver.Options) { o.EtcdCompactionInterval = time.Second })
	ctx := ctxT(t)
	cm, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "old"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cli := etcdClient(t, s.DataDir)
	defer cli.Close()
	resp, err := cli.Get(ctx, "/registry/configmaps/default/old")
	if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].ModRevision == 0 {
		t.Fatalf("the ConfigMap %s in etcd: %v %v", cm.ResourceVersion, resp, err)
	}
	written := resp.Kvs[0].ModRevision
	poll.Eventually(t, "the ConfigMap's revision compacted", poll.Cond(ctx, func(ctx context.Context) (bool, error) {
		_, err := cli.Get(ctx, "/registry/configmaps/default/old", clientv3.WithRev(written))
		return errors.Is(err, rpctypes.ErrCompacted), nil
	}))
}
