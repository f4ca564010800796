package nodeipam

import (
	"fmt"
	"net/netip"
	"testing"

	"k8s.io/klog/v2"
)

// TestHoldAndRelease: the bookkeeping of the subnets held per node, without the API: a subnet two
// nodes were given by hand stays used until both are gone, out-of-range CIDRs are ignored, a
// node's changed podCIDR frees the reservation it replaces.
func TestHoldAndRelease(t *testing.T) {
	c := &Controller{Config: Config{AllocateNodeCIDRs: true, ClusterCIDR: "10.250.0.0/16"}, held: map[string][]netip.Prefix{}}
	var err error
	if c.sets, err = c.Config.newSets(); err != nil {
		t.Fatal(err)
	}
	log := klog.Background()
	inUse := func(cidr string) bool { return c.sets[0].InUse(netip.MustParsePrefix(cidr)) }

	c.holdLocked(log, "a", []string{"10.250.5.0/24"})
	c.holdLocked(log, "b", []string{"10.250.5.0/24"})
	c.holdLocked(log, "out", []string{"192.168.0.0/24"})
	if got := c.sets[0].Used(); got != 1 {
		t.Fatalf("used %d, want 1", got)
	}
	c.releaseLocked("a")
	if !inUse("10.250.5.0/24") {
		t.Fatalf("10.250.5.0/24 freed while node b still has it")
	}
	c.releaseLocked("b")
	c.releaseLocked("out")
	if inUse("10.250.5.0/24") || c.sets[0].Used() != 0 {
		t.Fatalf("used %d after both nodes went", c.sets[0].Used())
	}

	// A reservation replaced by the podCIDR someone else set meanwhile is freed.
	reserved, err := c.allocateLocked()
	if err != nil {
		t.Fatal(err)
	}
	c.held["n"] = reserved
	c.holdLocked(log, "n", []string{"10.250.9.0/24"})
	if inUse(reserved[0].String()) || !inUse("10.250.9.0/24") {
		t.Fatalf("reservation %v not swapped for 10.250.9.0/24", reserved)
	}
	// Holding the same again changes nothing.
	c.holdLocked(log, "n", []string{"10.250.9.0/24"})
	if c.sets[0].Used() != 1 {
		t.Fatalf("used %d, want 1", c.sets[0].Used())
	}
}

// TestServiceRangeKeptOut: the service range, where it overlaps the cluster CIDR, is never
// allocated.
func TestServiceRangeKeptOut(t *testing.T) {
	c := &Controller{Config: Config{AllocateNodeCIDRs: true, ClusterCIDR: "10.96.0.0/22", ServiceCIDR: "10.96.1.0/24,fd00::/108"}}
	sets, err := c.Config.newSets()
	if err != nil {
		t.Fatal(err)
	}
	c.sets, c.held = sets, map[string][]netip.Prefix{}
	c.occupyServiceRange()
	var got []string
	for {
		ps, err := c.allocateLocked()
		if err != nil {
			break
		}
		got = append(got, ps[0].String())
	}
	if want := "[10.96.0.0/24 10.96.2.0/24 10.96.3.0/24]"; fmt.Sprint(got) != want {
		t.Errorf("allocated %v, want %s", got, want)
	}
}
