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
