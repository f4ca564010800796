package cidrset

import (
	"errors"
	"net/netip"
	"testing"
)

func mustSet(t *testing.T, cluster string, mask int) *Set {
	t.Helper()
	s, err := New(netip.MustParsePrefix(cluster), mask)
	if err != nil {
		t.Fatalf("New(%s, %d): %v", cluster, mask, err)
	}
	return s
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		cluster string
		mask    int
		size    int
		err     string
	}{
		{cluster: "10.244.0.0/16", mask: 24, size: 256},
		{cluster: "10.244.7.9/16", mask: 24, size: 256}, // host bits dropped
		{cluster: "10.0.0.0/8", mask: 24, size: 65536},
		{cluster: "10.0.0.0/24", mask: 24, size: 1},
		{cluster: "fd00:10:244::/48", mask: 64, size: 65536},
		{cluster: "10.0.0.0/8", mask: 25, err: ErrSubnetTooBig.Error()},
		{cluster: "fd00::/32", mask: 64, err: ErrSubnetTooBig.Error()},
		{cluster: "10.244.0.0/16", mask: 8, err: "node CIDR mask size /8 is shorter than the cluster CIDR 10.244.0.0/16's"},
		{cluster: "10.244.0.0/16", mask: 33, err: "node CIDR mask size /33 is longer than an address of the cluster CIDR 10.244.0.0/16"},
	} {
		s, err := New(netip.MustParsePrefix(tc.cluster), tc.mask)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("New(%s, %d) error %v, want %q", tc.cluster, tc.mask, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%s, %d): %v", tc.cluster, tc.mask, err)
			continue
		}
		if s.Size() != tc.size {
			t.Errorf("New(%s, %d) size %d, want %d", tc.cluster, tc.mask, s.Size(), tc.size)
		}
	}
}

// op is one step of a scenario: allocate (want the prefix or an error), occupy or release.
type op struct {
	do   string // "allocate", "occupy", "release"
	cidr string // the argument of occupy/release, or the wanted allocation
	err  error
}

func TestScenarios(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cluster string
		mask    int
		ops     []op
		used    int
	}{
		{name: "allocate in order", cluster: "10.244.0.0/16", mask: 24, used: 3, ops: []op{
			{do: "allocate", cidr: "10.244.0.0/24"}, {do: "allocate", cidr: "10.244.1.0/24"}, {do: "allocate", cidr: "10.244.2.0/24"}}},
		{name: "occupied subnets are skipped", cluster: "10.244.0.0/16", mask: 24, used: 5, ops: []op{
			{do: "occupy", cidr: "10.244.0.0/24"}, {do: "occupy", cidr: "10.244.1.0/24"},
			{do: "allocate", cidr: "10.244.2.0/24"}, {do: "occupy", cidr: "10.244.3.0/24"}, {do: "allocate", cidr: "10.244.4.0/24"}}},
		{name: "occupy is idempotent", cluster: "10.244.0.0/16", mask: 24, used: 1, ops: []op{
			{do: "occupy", cidr: "10.244.5.0/24"}, {do: "occupy", cidr: "10.244.5.0/24"}}},
		{name: "a smaller CIDR takes its subnet", cluster: "10.244.0.0/16", mask: 24, used: 2, ops: []op{
			{do: "occupy", cidr: "10.244.0.128/25"}, {do: "allocate", cidr: "10.244.1.0/24"}}},
		{name: "a larger CIDR takes the subnets it covers", cluster: "10.244.0.0/16", mask: 24, used: 5, ops: []op{
			{do: "occupy", cidr: "10.244.0.0/22"}, {do: "allocate", cidr: "10.244.4.0/24"}}},
		{name: "a CIDR containing the cluster takes all", cluster: "10.244.0.0/16", mask: 24, used: 256, ops: []op{
			{do: "occupy", cidr: "10.0.0.0/8"}, {do: "allocate", err: ErrFull}}},
		{name: "out-of-range occupy is refused and changes nothing", cluster: "10.244.0.0/16", mask: 24, used: 1, ops: []op{
			{do: "occupy", cidr: "10.245.0.0/24", err: ErrOutOfRange}, {do: "occupy", cidr: "192.168.0.0/24", err: ErrOutOfRange},
			{do: "occupy", cidr: "fd00::/64", err: ErrOutOfRange}, {do: "release", cidr: "10.245.0.0/24", err: ErrOutOfRange},
			{do: "allocate", cidr: "10.244.0.0/24"}}},
		{name: "release frees for a later round", cluster: "10.244.0.0/23", mask: 24, used: 2, ops: []op{
			{do: "allocate", cidr: "10.244.0.0/24"}, {do: "allocate", cidr: "10.244.1.0/24"}, {do: "allocate", err: ErrFull},
			{do: "release", cidr: "10.244.0.0/24"}, {do: "allocate", cidr: "10.244.0.0/24"}}},
		{name: "allocation is round-robin past a release", cluster: "10.244.0.0/16", mask: 24, used: 2, ops: []op{
			{do: "allocate", cidr: "10.244.0.0/24"}, {do: "allocate", cidr: "10.244.1.0/24"},
			{do: "release", cidr: "10.244.0.0/24"}, {do: "allocate", cidr: "10.244.2.0/24"}}},
		{name: "full", cluster: "10.250.0.0/24", mask: 25, used: 2, ops: []op{
			{do: "allocate", cidr: "10.250.0.0/25"}, {do: "allocate", cidr: "10.250.0.128/25"},
			{do: "allocate", err: ErrFull}, {do: "allocate", err: ErrFull}}},
		{name: "one subnet", cluster: "10.250.0.0/24", mask: 24, used: 1, ops: []op{
			{do: "allocate", cidr: "10.250.0.0/24"}, {do: "allocate", err: ErrFull}}},
		{name: "IPv6 /64 from a /48", cluster: "fd00:10:244::/48", mask: 64, used: 3, ops: []op{
			{do: "allocate", cidr: "fd00:10:244::/64"}, {do: "occupy", cidr: "fd00:10:244:1::/64"},
			{do: "allocate", cidr: "fd00:10:244:2::/64"}, {do: "allocate", cidr: "fd00:10:244:3::/64"},
			{do: "release", cidr: "fd00:10:244:2::/64"}, {do: "occupy", cidr: "10.244.0.0/24", err: ErrOutOfRange}}},
		{name: "IPv6 high subnet", cluster: "fd00:10:244::/48", mask: 64, used: 1, ops: []op{
			{do: "occupy", cidr: "fd00:10:244:ffff::/64"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSet(t, tc.cluster, tc.mask)
			for i, o := range tc.ops {
				var err error
				switch o.do {
				case "allocate":
					var got netip.Prefix
					got, err = s.AllocateNext()
					if err == nil && got.String() != o.cidr {
						t.Errorf("step %d: allocated %v, want %s", i, got, o.cidr)
					}
				case "occupy":
					err = s.Occupy(netip.MustParsePrefix(o.cidr))
				case "release":
					err = s.Release(netip.MustParsePrefix(o.cidr))
				}
				if !errors.Is(err, o.err) {
					t.Errorf("step %d (%s %s): error %v, want %v", i, o.do, o.cidr, err, o.err)
				}
			}
			if s.Used() != tc.used || s.popcount() != tc.used {
				t.Errorf("used %d (bitmap %d), want %d", s.Used(), s.popcount(), tc.used)
			}
		})
	}
}

// TestSixteenBitsOfNodes: a /16 with /24 node subnets gives 256 nodes, each subnet once, then
// none; every subnet released can be allocated again.
func TestSixteenBitsOfNodes(t *testing.T) {
	s := mustSet(t, "10.244.0.0/16", 24)
	seen := map[netip.Prefix]bool{}
	for i := range 256 {
		p, err := s.AllocateNext()
		if err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
		if seen[p] || !s.Cluster().Contains(p.Addr()) || p.Bits() != 24 {
			t.Fatalf("allocation %d: %v (duplicate or outside)", i, p)
		}
		seen[p] = true
	}
	if _, err := s.AllocateNext(); !errors.Is(err, ErrFull) {
		t.Fatalf("257th allocation: %v, want ErrFull", err)
	}
	if !seen[netip.MustParsePrefix("10.244.255.0/24")] {
		t.Errorf("10.244.255.0/24 was never allocated")
	}
	for p := range seen {
		if err := s.Release(p); err != nil {
			t.Fatal(err)
		}
	}
	if s.Used() != 0 {
		t.Fatalf("used %d after releasing all", s.Used())
	}
	// A /8 with /24s: the largest set (65536 subnets) fills completely.
	big := mustSet(t, "10.0.0.0/8", 24)
	var last netip.Prefix
	for range 65536 {
		var err error
		if last, err = big.AllocateNext(); err != nil {
			t.Fatal(err)
		}
	}
	if last.String() != "10.255.255.0/24" || big.Used() != 65536 {
		t.Errorf("last %v used %d", last, big.Used())
	}
	if _, err := big.AllocateNext(); !errors.Is(err, ErrFull) {
		t.Errorf("after 65536: %v", err)
	}
}

func TestInUse(t *testing.T) {
	s := mustSet(t, "10.244.0.0/16", 24)
	_ = s.Occupy(netip.MustParsePrefix("10.244.3.0/24"))
	for cidr, want := range map[string]bool{"10.244.3.0/24": true, "10.244.4.0/24": false, "10.9.0.0/24": false} {
		if got := s.InUse(netip.MustParsePrefix(cidr)); got != want {
			t.Errorf("InUse(%s) = %v, want %v", cidr, got, want)
		}
	}
}
