package service

import (
	"math/big"
	"testing"

	utilnet "k8s.io/apimachinery/pkg/util/net"
)

func TestStaticBand(t *testing.T) {
	for _, tc := range []struct{ size, want int }{
		{10, 0}, {16, 16}, {100, 16}, {2768, 86}, {10000, 128},
	} {
		if got := staticBand(tc.size); got != tc.want {
			t.Errorf("staticBand(%d) = %d, want %d", tc.size, got, tc.want)
		}
	}
}

// Automatic allocation takes the upper part of the range first and the static band last.
func TestPickFreePrefersUpperRange(t *testing.T) {
	a := &portAllocator{pr: utilnet.PortRange{Base: 30000, Size: 100}}
	used := new(big.Int)
	band := staticBand(a.pr.Size)
	for i := range a.pr.Size {
		off, ok := a.pickFree(used, nil)
		if !ok {
			t.Fatalf("allocation %d: range full", i)
		}
		if i < a.pr.Size-band && off < band {
			t.Fatalf("allocation %d took %d in the static band while the upper range had room", i, off+a.pr.Base)
		}
		if used.Bit(off) == 1 {
			t.Fatalf("allocation %d: offset %d given twice", i, off)
		}
		used.SetBit(used, off, 1)
	}
	if _, ok := a.pickFree(used, nil); ok {
		t.Fatal("a full range gave a port")
	}
	// extra excludes ports already picked by the same request.
	used = new(big.Int)
	for off := band; off < a.pr.Size; off++ {
		used.SetBit(used, off, 1)
	}
	extra := map[int]bool{}
	for off := 0; off < band-1; off++ {
		extra[off+a.pr.Base] = true
	}
	if off, ok := a.pickFree(used, extra); !ok || off != band-1 {
		t.Fatalf("pickFree = %d, %v, want %d", off, ok, band-1)
	}
}
