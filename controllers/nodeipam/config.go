package nodeipam

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/skiff-dev/skiff/controllers/nodeipam/cidrset"
)

// DefaultClusterCIDR is the default --cluster-cidr (flannel's and kubeadm guides' 10.244.0.0/16).
const DefaultClusterCIDR = "10.244.0.0/16"

// Default node subnet mask sizes, upstream's --node-cidr-mask-size defaults.
const (
	DefaultNodeCIDRMaskSizeIPv4 = 24
	DefaultNodeCIDRMaskSizeIPv6 = 64
)

// Config is the controller's settings, kube-controller-manager's flags of the same names.
type Config struct {
	// AllocateNodeCIDRs runs the controller (--allocate-node-cidrs).
	AllocateNodeCIDRs bool
	// ClusterCIDR is the pods' range: one CIDR, or an IPv4 and an IPv6 one comma-separated
	// (--cluster-cidr).
	ClusterCIDR string
	// NodeCIDRMaskSize is the node subnets' mask size in a single-stack cluster
	// (--node-cidr-mask-size; 0: 24 for IPv4, 64 for IPv6).
	NodeCIDRMaskSize int
	// NodeCIDRMaskSizeIPv4 and NodeCIDRMaskSizeIPv6 are the mask sizes per family
	// (--node-cidr-mask-size-ipv4/-ipv6; 0: 24 and 64).
	NodeCIDRMaskSizeIPv4, NodeCIDRMaskSizeIPv6 int
	// ServiceCIDR, comma-separated, is kept out of the node subnets where it overlaps the
	// cluster CIDR (--service-cluster-ip-range).
	ServiceCIDR string
}

// DefaultConfig is on, over DefaultClusterCIDR.
func DefaultConfig() Config {
	return Config{AllocateNodeCIDRs: true, ClusterCIDR: DefaultClusterCIDR}
}

// Validate checks the settings as kube-controller-manager does at start (nothing when the
// controller is off).
func (c Config) Validate() error {
	if !c.AllocateNodeCIDRs {
		return nil
	}
	_, err := c.newSets()
	return err
}

// CheckNodeCount refuses a cluster of nodes nodes whose cluster CIDR cannot give each of them a
// subnet (the smallest family's count of node subnets decides); nothing when the controller is
// off. Upstream starts such a cluster and leaves the nodes past the count without a podCIDR
// (their pods never run); a caller that knows its node count up front asks first.
func (c Config) CheckNodeCount(nodes int) error {
	if !c.AllocateNodeCIDRs {
		return nil
	}
	sets, err := c.newSets()
	if err != nil {
		return err
	}
	for _, s := range sets {
		if nodes > s.Size() {
			return fmt.Errorf("--cluster-cidr %v holds %d node subnets of /%d, fewer than the %d nodes asked for: pass a wider --cluster-cidr (10.128.0.0/10 holds 16384) or a longer --node-cidr-mask-size",
				s.Cluster(), s.Size(), s.SubnetMaskSize(), nodes)
		}
	}
	return nil
}

// newSets parses the cluster CIDRs and mask sizes into one empty cidrset per family.
func (c Config) newSets() ([]*cidrset.Set, error) {
	clusters, err := parseCIDRs("--cluster-cidr", c.ClusterCIDR)
	if err != nil {
		return nil, err
	}
	if len(clusters) == 0 {
		return nil, fmt.Errorf("--cluster-cidr is required to allocate node CIDRs (--allocate-node-cidrs)")
	}
	if len(clusters) > 2 {
		return nil, fmt.Errorf("--cluster-cidr %q: at most one IPv4 and one IPv6 CIDR", c.ClusterCIDR)
	}
	dualStack := len(clusters) == 2
	if dualStack && clusters[0].Addr().Is4() == clusters[1].Addr().Is4() {
		return nil, fmt.Errorf("--cluster-cidr %q: a dual-stack cluster CIDR needs one IPv4 and one IPv6 CIDR", c.ClusterCIDR)
	}
	if dualStack && c.NodeCIDRMaskSize != 0 {
		return nil, fmt.Errorf("usage of --node-cidr-mask-size is not allowed with dual-stack clusters")
	}
	var sets []*cidrset.Set
	for _, cluster := range clusters {
		mask := c.maskSize(cluster.Addr().Is4(), dualStack)
		s, err := cidrset.New(cluster, mask)
		if err != nil {
			return nil, fmt.Errorf("--cluster-cidr %v with node CIDR mask size /%d: %w", cluster, mask, err)
		}
		sets = append(sets, s)
	}
	return sets, nil
}

func (c Config) maskSize(ipv4, dualStack bool) int {
	if !dualStack && c.NodeCIDRMaskSize != 0 {
		return c.NodeCIDRMaskSize
	}
	if ipv4 {
		return or(c.NodeCIDRMaskSizeIPv4, DefaultNodeCIDRMaskSizeIPv4)
	}
	return or(c.NodeCIDRMaskSizeIPv6, DefaultNodeCIDRMaskSizeIPv6)
}

func or(v, def int) int {
	if v != 0 {
		return v
	}
	return def
}

// parseCIDRs parses a comma-separated list of CIDRs ("" is none).
func parseCIDRs(flag, list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a CIDR: %w", flag, s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
