package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/controlplane"
)

// clusterOptions are `skiff server`'s flags for a highly available control plane.
type clusterOptions struct {
	init       bool
	join       string
	token      string
	caCertHash string
	memberName string
	leave      bool
}

func (c *clusterOptions) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&c.init, "cluster-init", false, "Start a control plane that other servers can join (--join): its embedded etcd serves TLS with its own CA and peers on the advertise address.")
	fs.StringVar(&c.join, "join", "", "Join the control plane of this API server, https://HOST:PORT (with --token from `skiff token create --control-plane`), as another etcd member and API server.")
	fs.StringVar(&c.token, "token", "", "Control-plane join token <id>.<secret> for --join (needed only for the first start).")
	fs.StringVar(&c.caCertHash, "ca-cert-hash", "", "sha256:<hex> of the cluster CA's public key for --join; without it the CA is trusted on first use.")
	fs.StringVar(&c.memberName, "member-name", "", "Name of this control-plane member in etcd, unique in the cluster (default: the host name).")
	fs.BoolVar(&c.leave, "leave", false, "When stopped (SIGTERM), remove this member from the etcd cluster and delete its etcd data and member state, so that the data dir can --join again.")
}

// apply prepares a clustered member (--cluster-init, --join, or a data dir that is already one)
// and points the API server's embedded etcd at it; a plain data dir is left alone.
func (c *clusterOptions) apply(ctx context.Context, api *apiserver.Options) error {
	if c.join != "" && c.token == "" && !controlplane.Clustered(api.DataDir) {
		return fmt.Errorf("--join needs --token (create one with `skiff token create --control-plane` on a member)")
	}
	var adv net.IP
	if api.AdvertiseAddress != "" {
		adv = net.ParseIP(api.AdvertiseAddress)
		if adv == nil {
			return fmt.Errorf("--advertise-address %q is not an IP address", api.AdvertiseAddress)
		}
	} else if c.init || c.join != "" {
		adv = api.AdvertiseIP()
	}
	cl, st, err := controlplane.Prepare(ctx, controlplane.Options{
		DataDir: api.DataDir, Name: c.memberName, AdvertiseIP: adv,
		ClientPort: api.EtcdClientPort, PeerPort: api.EtcdPeerPort,
		ClusterInit: c.init, Join: c.join, Token: c.token, CACertHash: c.caCertHash,
	})
	if err != nil {
		return err
	}
	if cl == nil {
		return nil
	}
	if c.leave {
		cl.LeaveOnStop = true
		cl.OnLeft = func() {
			for _, f := range []string{controlplane.StateFile, controlplane.ClientInfoFile} {
				_ = os.Remove(filepath.Join(api.DataDir, f))
			}
		}
	}
	api.EtcdCluster, api.EtcdMemberName = cl, st.Name
	api.EtcdClientPort, api.EtcdPeerPort = st.ClientPort, st.PeerPort
	if api.AdvertiseAddress == "" {
		api.AdvertiseAddress = st.AdvertiseIP
	}
	klog.FromContext(ctx).Info("Control-plane member", "member", st.Name, "etcdPeerURL", st.PeerURL(), "joining", cl.Existing)
	return nil
}
