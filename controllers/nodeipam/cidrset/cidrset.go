package cidrset

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
)

// MaxSubnetBits is the most bits a node subnet may add to the cluster CIDR's mask (upstream's
// limit: at most 65536 subnets, a bitmap of 8 KiB).
const MaxSubnetBits = 16

var (
	// ErrFull is upstream's error when every subnet is in use.
	ErrFull = errors.New("CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range")
	// ErrSubnetTooBig is upstream's error for a node mask more than MaxSubnetBits longer than
	// the cluster CIDR's.
	ErrSubnetTooBig = errors.New("New CIDR set failed; the node CIDR size is too big")
	// ErrOutOfRange is returned by Occupy and Release for a CIDR outside the cluster CIDR.
	ErrOutOfRange = errors.New("CIDR is out of the range of the cluster CIDR")
)

// Set is the subnets of one cluster CIDR and which of them are in use.
type Set struct {
	cluster    netip.Prefix
	subnetBits int // the node mask size, e.g. 24
	count      int // number of subnets: 1 << (subnetBits - cluster.Bits())
	used       []uint64
	allocated  int
	next       int // where AllocateNext starts looking
}

// New returns an empty set of the /subnetMaskSize subnets of cluster.
func New(cluster netip.Prefix, subnetMaskSize int) (*Set, error) {
	if !cluster.IsValid() {
		return nil, fmt.Errorf("invalid cluster CIDR %v", cluster)
	}
	cluster = cluster.Masked()
	if subnetMaskSize < cluster.Bits() {
		return nil, fmt.Errorf("node CIDR mask size /%d is shorter than the cluster CIDR %v's", subnetMaskSize, cluster)
	}
	if subnetMaskSize > cluster.Addr().BitLen() {
		return nil, fmt.Errorf("node CIDR mask size /%d is longer than an address of the cluster CIDR %v", subnetMaskSize, cluster)
	}
	if subnetMaskSize-cluster.Bits() > MaxSubnetBits {
		return nil, ErrSubnetTooBig
	}
	n := 1 << (subnetMaskSize - cluster.Bits())
	return &Set{cluster: cluster, subnetBits: subnetMaskSize, count: n, used: make([]uint64, (n+63)/64)}, nil
}

// Cluster is the set's cluster CIDR.
func (s *Set) Cluster() netip.Prefix { return s.cluster }

// SubnetMaskSize is the node subnets' mask size.
func (s *Set) SubnetMaskSize() int { return s.subnetBits }

// Size is the number of subnets; Used how many are taken.
func (s *Set) Size() int { return s.count }
func (s *Set) Used() int { return s.allocated }

// AllocateNext takes the first free subnet at or after the one following the last allocated,
// wrapping around, or returns ErrFull.
func (s *Set) AllocateNext() (netip.Prefix, error) {
	if s.allocated == s.count {
		return netip.Prefix{}, ErrFull
	}
	for i := range s.count {
		idx := (s.next + i) % s.count
		if !s.isSet(idx) {
			s.set(idx, true)
			s.next = (idx + 1) % s.count
			return s.subnet(idx), nil
		}
	}
	return netip.Prefix{}, ErrFull
}

// Occupy marks every subnet that p overlaps as used: a smaller p takes the subnet it is in, a
// larger one all the subnets it covers (within the cluster CIDR). A p that does not overlap the
// cluster CIDR, or of the other IP family, is ErrOutOfRange.
func (s *Set) Occupy(p netip.Prefix) error {
	begin, end, err := s.indices(p)
	if err != nil {
		return err
	}
	for i := begin; i <= end; i++ {
		s.set(i, true)
	}
	return nil
}

// Release marks the subnets p overlaps as free again (as Occupy, the other way).
func (s *Set) Release(p netip.Prefix) error {
	begin, end, err := s.indices(p)
	if err != nil {
		return err
	}
	for i := begin; i <= end; i++ {
		s.set(i, false)
	}
	return nil
}

// InUse tells whether the subnet holding p's address is taken (false for one out of range).
func (s *Set) InUse(p netip.Prefix) bool {
	begin, _, err := s.indices(p)
	return err == nil && s.isSet(begin)
}

// indices returns the first and last subnet index p overlaps.
func (s *Set) indices(p netip.Prefix) (int, int, error) {
	if !p.IsValid() || p.Addr().BitLen() != s.cluster.Addr().BitLen() {
		return 0, 0, fmt.Errorf("%w: %v, cluster CIDR %v", ErrOutOfRange, p, s.cluster)
	}
	p = p.Masked()
	switch {
	case p.Bits() <= s.cluster.Bits() && p.Contains(s.cluster.Addr()):
		return 0, s.count - 1, nil
	case s.cluster.Contains(p.Addr()):
		return s.index(p.Addr()), s.index(lastAddr(p)), nil
	default:
		return 0, 0, fmt.Errorf("%w: %v, cluster CIDR %v", ErrOutOfRange, p, s.cluster)
	}
}

// index is the subnet number of a: its bits from the cluster mask up to the subnet mask.
func (s *Set) index(a netip.Addr) int {
	b := a.AsSlice()
	idx := 0
	for pos := s.cluster.Bits(); pos < s.subnetBits; pos++ {
		idx = idx<<1 | int(b[pos/8]>>(7-pos%8)&1)
	}
	return idx
}

// subnet is the idx-th subnet: the cluster address with idx written into the subnet bits.
func (s *Set) subnet(idx int) netip.Prefix {
	b := s.cluster.Addr().AsSlice()
	for pos := s.subnetBits - 1; pos >= s.cluster.Bits(); pos-- {
		if idx&1 == 1 {
			b[pos/8] |= 1 << (7 - pos%8)
		}
		idx >>= 1
	}
	a, _ := netip.AddrFromSlice(b)
	return netip.PrefixFrom(a, s.subnetBits)
}

// lastAddr is the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for pos := p.Bits(); pos < len(b)*8; pos++ {
		b[pos/8] |= 1 << (7 - pos%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func (s *Set) isSet(idx int) bool { return s.used[idx/64]&(1<<(idx%64)) != 0 }

func (s *Set) set(idx int, v bool) {
	was := s.isSet(idx)
	if v == was {
		return
	}
	if v {
		s.used[idx/64] |= 1 << (idx % 64)
		s.allocated++
	} else {
		s.used[idx/64] &^= 1 << (idx % 64)
		s.allocated--
	}
}

// popcount is the number of used subnets counted from the bitmap (for tests of the counter).
func (s *Set) popcount() int {
	n := 0
	for _, w := range s.used {
		n += bits.OnesCount64(w)
	}
	return n
}
