package service

import (
	"context"
	"math/big"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apiserver/pkg/storage"
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

// memStorage keeps the allocator's one RangeAllocation in memory.
type memStorage struct {
	storage.Interface
	ra corev1.RangeAllocation
}

func (m *memStorage) Get(_ context.Context, _ string, _ storage.GetOptions, out runtime.Object) error {
	*out.(*corev1.RangeAllocation) = *m.ra.DeepCopy()
	return nil
}

func (m *memStorage) GuaranteedUpdate(_ context.Context, _ string, _ runtime.Object, _ bool, _ *storage.Preconditions,
	try storage.UpdateFunc, _ runtime.Object) error {
	out, _, err := try(m.ra.DeepCopy(), storage.ResponseMeta{})
	if err == nil {
		m.ra = *out.(*corev1.RangeAllocation)
	}
	return err
}

// An update attempt that finished but whose write then conflicted is undone before the store
// tries again: the retry can take the same new port, and the old one is still held.
func TestPortOpUndo(t *testing.T) {
	ctx := context.Background()
	a := &portAllocator{pr: utilnet.PortRange{Base: 30000, Size: 100}, storage: &memStorage{}}
	create := a.begin(false)
	if err := create.allocate(ctx, 30080); err != nil {
		t.Fatal(err)
	}
	_ = create.finish(ctx, true)

	first := a.begin(false) // 30080 -> 30082, finished before its write conflicts
	if err := first.allocate(ctx, 30082); err != nil {
		t.Fatal(err)
	}
	first.releaseDeferred(30080)
	_ = first.finish(ctx, true)
	if err := first.undo(ctx); err != nil {
		t.Fatal(err)
	}
	used, _ := a.read(ctx)
	if used.Bit(80) != 1 || used.Bit(82) != 0 {
		t.Fatalf("after undo: 30080 held %d, 30082 held %d; want 1, 0", used.Bit(80), used.Bit(82))
	}
	retry := a.begin(false)
	if err := retry.allocate(ctx, 30082); err != nil {
		t.Fatalf("the retry's allocation: %v", err)
	}
}
