package nodeipam

import (
	"fmt"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		c     Config
		masks string
		err   string
	}{
		{c: DefaultConfig(), masks: "[10.244.0.0/16:/24]"},
		{c: Config{}, masks: ""}, // off: nothing checked
		{c: Config{AllocateNodeCIDRs: true, ClusterCIDR: "10.246.0.0/16", NodeCIDRMaskSize: 26}, masks: "[10.246.0.0/16:/26]"},
		{c: Config{AllocateNodeCIDRs: true, ClusterCIDR: "10.246.0.0/16", NodeCIDRMaskSizeIPv4: 25}, masks: "[10.246.0.0/16:/25]"},
		{c: Config{AllocateNodeCIDRs: true, ClusterCIDR: "fd00::/48"}, masks: "[fd00::/48:/64]"},
		{c: Config{AllocateNodeCIDRs: true, ClusterCIDR: "10.244.0.0/16, fd00::/56"}, masks: "[10.244.0.0/16:/24 fd00::/56:/64]"},
		{c: Config{AllocateNodeCIDRs: true, ClusterCIDR: "10.244.0.0/16,fd00::/56", NodeCIDRMaskSizeIPv6: 60}, masks: "[10.244.0.0/16:/24 fd00::/56:/60]"},
		{c: Config{AllocateNodeCIDRs: true}, err: "--cluster-cidr is required to allocate node CIDRs (--allocate-node-cidrs)"},
		{c: Config{AllocateNodeCIDRs: true, ClusterCIDR: "10.244.0.0"}, err: `--cluster-cidr: "10.244.0.0" is not a CIDR: netip.ParsePrefix("10.244.0.0"): no '/'`},
		{c: Config{AllocateNodeCIDRs: true, ClusterCIDR: "10.244.0.0/16,10.245.0.0/16"}, err: `--cluster-cidr "10.244.0.0/16,10.245.0.0/16": a dual-stack cluster CIDR needs one IPv4 and one IPv6 CIDR`},
		{c: Config{AllocateNodeCIDRs: true, ClusterCIDR: "10.244.0.0/16,fd00::/56,fd01::/56"}, err: `--cluster-cidr "10.244.0.0/16,fd00::/56,fd01::/56": at most one IPv4 and one IPv6 CIDR`},
		{c: Config{AllocateNodeCIDRs: true, ClusterCIDR: "10.244.0.0/16,fd00::/56", NodeCIDRMaskSize: 24}, err: "usage of --node-cidr-mask-size is not allowed with dual-stack clusters"},
		{c: Config{AllocateNodeCIDRs: true, ClusterCIDR: "10.0.0.0/7"}, err: "--cluster-cidr 10.0.0.0/7 with node CIDR mask size /24: New CIDR set failed; the node CIDR size is too big"},
		{c: Config{AllocateNodeCIDRs: true, ClusterCIDR: "10.244.0.0/16", NodeCIDRMaskSize: 12}, err: "--cluster-cidr 10.244.0.0/16 with node CIDR mask size /12: node CIDR mask size /12 is shorter than the cluster CIDR 10.244.0.0/16's"},
	} {
		err := tc.c.Validate()
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%+v: error %v, want %q", tc.c, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", tc.c, err)
			continue
		}
		if !tc.c.AllocateNodeCIDRs {
			continue
		}
		sets, _ := tc.c.newSets()
		var got []string
		for _, s := range sets {
			got = append(got, fmt.Sprintf("%v:/%d", s.Cluster(), s.SubnetMaskSize()))
		}
		if fmt.Sprint(got) != tc.masks {
			t.Errorf("%+v: sets %v, want %s", tc.c, got, tc.masks)
		}
	}
}

func TestCheckNodeCount(t *testing.T) {
	for _, tc := range []struct {
		c     Config
		nodes int
		err   string
	}{
		{c: DefaultConfig(), nodes: 256},
		{c: DefaultConfig(), nodes: 257, err: "--cluster-cidr 10.244.0.0/16 holds 256 node subnets of /24, fewer than the 257 nodes asked for: pass a wider --cluster-cidr (10.128.0.0/10 holds 16384) or a longer --node-cidr-mask-size"},
		{c: Config{AllocateNodeCIDRs: true, ClusterCIDR: "10.128.0.0/10"}, nodes: 5001},
		{c: Config{AllocateNodeCIDRs: true, ClusterCIDR: "10.244.0.0/16", NodeCIDRMaskSize: 26}, nodes: 1024},
		{c: Config{AllocateNodeCIDRs: true, ClusterCIDR: "10.128.0.0/10,fd00::/56"}, nodes: 257, err: "--cluster-cidr fd00::/56 holds 256 node subnets of /64, fewer than the 257 nodes asked for: pass a wider --cluster-cidr (10.128.0.0/10 holds 16384) or a longer --node-cidr-mask-size"},
		{c: Config{ClusterCIDR: "10.244.0.0/16"}, nodes: 100000}, // off: pod CIDRs come from elsewhere
		{c: Config{AllocateNodeCIDRs: true, ClusterCIDR: "bad"}, nodes: 1, err: `--cluster-cidr: "bad" is not a CIDR: netip.ParsePrefix("bad"): no '/'`},
	} {
		err := tc.c.CheckNodeCount(tc.nodes)
		if got := fmt.Sprint(err); (tc.err == "" && err != nil) || (tc.err != "" && got != tc.err) {
			t.Errorf("%+v, %d nodes: error %v, want %q", tc.c, tc.nodes, err, tc.err)
		}
	}
}
