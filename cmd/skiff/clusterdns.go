package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/controllers/clusterdns"
)

// clusterDNSOptions are the control plane's cluster DNS settings.
type clusterDNSOptions struct {
	port   int
	domain string
}

func clusterDNSFlags(fs *pflag.FlagSet, o *clusterDNSOptions) {
	if o.domain == "" {
		o.port, o.domain = 53, "cluster.local"
	}
	fs.IntVar(&o.port, "cluster-dns-port", o.port, "Port of the cluster DNS server (UDP and TCP) on the advertise address (0: any free port; the kube-dns Service forwards to it).")
	fs.StringVar(&o.domain, "cluster-domain", o.domain, "Cluster DNS domain.")
}

// runClusterDNS serves cluster DNS in this control-plane process (every member runs one) and
// keeps kube-system/kube-dns. A server that cannot start is reported in one line; the control
// plane keeps running.
func runClusterDNS(ctx context.Context, cfg *apiserver.Config, o clusterDNSOptions, pr *progress) error {
	ip := cfg.Options.AdvertiseIP()
	if ip == nil {
		ip = net.ParseIP("127.0.0.1")
	}
	svcIP, err := clusterdns.ServiceIPFor(cfg.Options.ServiceClusterIPRange)
	if err != nil {
		return err
	}
	// Its own identity (system:kube-dns), with only the rights of the system:kube-dns role and
	// of the skiff:kube-dns Role in kube-system, as upstream's CoreDNS runs with its own account.
	kubeconfig := cfg.Options.KubeDNSKubeconfigPath()
	restCfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", kubeconfig, err)
	}
	client, err := builtinClient(restCfg)
	if err != nil {
		return err
	}
	member := cfg.Options.EtcdMemberName
	if member == "" {
		member, _ = os.Hostname()
	}
	s, err := clusterdns.New(clusterdns.Config{Client: client, Address: ip.String(), Port: o.port, Domain: o.domain,
		ServiceIP: svcIP, MemberName: strings.ToLower(member)})
	if err != nil {
		return err
	}
	go func() {
		select {
		case <-s.Ready():
			pr.step("Cluster DNS is serving %s on %s", o.domain, s.Addr())
		case <-ctx.Done():
		}
	}()
	if err := s.Start(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		fmt.Fprintf(os.Stderr, "skiff: no cluster DNS: %v (the control plane keeps running)\n", err)
		klog.FromContext(ctx).Error(err, "Cluster DNS stopped")
	}
	return nil
}

// nodeDNSFlags are the agent's --cluster-dns and (when withDomain: `skiff up` shares the
// control plane's) --cluster-domain, as the kubelet's.
func nodeDNSFlags(fs *pflag.FlagSet, n *localNode, withDomain bool) {
	n.clusterDNS = []string{"10.96.0.10"}
	n.clusterDomain = "cluster.local"
	fs.StringSliceVar(&n.clusterDNS, "cluster-dns", n.clusterDNS, "DNS server addresses of ClusterFirst pods (the kube-dns Service IP).")
	if withDomain {
		fs.StringVar(&n.clusterDomain, "cluster-domain", n.clusterDomain, "Cluster DNS domain; pods search <ns>.svc.<domain>, svc.<domain> and <domain>.")
	}
}
