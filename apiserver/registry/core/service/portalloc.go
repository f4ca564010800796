package service

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
)

// DefaultNodePortRange is upstream's --service-node-port-range.
const DefaultNodePortRange = "30000-32767"

// nodePortKey is where the NodePort bitmap lives in etcd (under /registry), as upstream's
// RangeAllocation for service node ports.
const nodePortKey = "/ranges/servicenodeports"

// Upstream's portallocator errors, word for word.
var (
	errPortAllocated = errors.New("provided port is already allocated")
	errPortRangeFull = errors.New("range is full")
)

type errPortNotInRange struct{ valid string }

func (e *errPortNotInRange) Error() string {
	return fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %s", e.valid)
}

// portAllocator hands out NodePorts from one range. The allocation state is one
// core/v1 RangeAllocation (a bitmap, bit i = port base+i, as upstream's big.Int encoding) updated
// with etcd compare-and-swap, so API servers sharing the etcd never hand out a port twice.
type portAllocator struct {
	pr      utilnet.PortRange
	storage storage.Interface
	// destroy releases the storage's etcd client.
	destroy func()
}

// newPortAllocator builds the NodePort allocator over raw storage from optsGetter.
func newPortAllocator(rangeSpec string, optsGetter generic.RESTOptionsGetter) (*portAllocator, error) {
	pr, err := utilnet.ParsePortRange(rangeSpec)
	if err != nil {
		return nil, fmt.Errorf("service node port range %q: %w", rangeSpec, err)
	}
	opts, err := optsGetter.GetRESTOptions(schema.GroupResource{Resource: "servicenodeportallocations"}, &corev1.RangeAllocation{})
	if err != nil {
		return nil, fmt.Errorf("node port allocation storage: %w", err)
	}
	st, destroy, err := generic.NewRawStorage(opts.StorageConfig, nil, nil, nodePortKey)
	if err != nil {
		return nil, fmt.Errorf("node port allocation storage: %w", err)
	}
	return &portAllocator{pr: *pr, storage: st, destroy: destroy}, nil
}

func (a *portAllocator) contains(port int) bool {
	return port >= a.pr.Base && port < a.pr.Base+a.pr.Size
}

// decode reads the bitmap of ra relative to this range; a bitmap written for another range
// (the flag changed) is translated port by port.
func (a *portAllocator) decode(ra *corev1.RangeAllocation) *big.Int {
	used := new(big.Int).SetBytes(ra.Data)
	if ra.Range == "" || ra.Range == a.pr.String() {
		return used
	}
	old, err := utilnet.ParsePortRange(ra.Range)
	if err != nil {
		return used
	}
	out := new(big.Int)
	for i := 0; i < used.BitLen(); i++ {
		if used.Bit(i) == 1 && a.contains(old.Base+i) {
			out.SetBit(out, old.Base+i-a.pr.Base, 1)
		}
	}
	return out
}

// update applies fn to the bitmap in one compare-and-swap.
func (a *portAllocator) update(ctx context.Context, fn func(used *big.Int) error) error {
	return a.storage.GuaranteedUpdate(ctx, nodePortKey, &corev1.RangeAllocation{}, true, nil,
		func(input runtime.Object, _ storage.ResponseMeta) (runtime.Object, *uint64, error) {
			ra := input.(*corev1.RangeAllocation)
			used := a.decode(ra)
			if err := fn(used); err != nil {
				return nil, nil, err
			}
			ra.Range, ra.Data = a.pr.String(), used.Bytes()
			return ra, nil, nil
		}, nil)
}

// read returns the current bitmap.
func (a *portAllocator) read(ctx context.Context) (*big.Int, error) {
	ra := &corev1.RangeAllocation{}
	if err := a.storage.Get(ctx, nodePortKey, storage.GetOptions{IgnoreNotFound: true}, ra); err != nil {
		return nil, err
	}
	return a.decode(ra), nil
}

// pickFree returns a free offset of used, skipping those in extra. As upstream's allocator
// (KEP-3668), automatic allocation prefers the upper part of the range and leaves a lower band
// (staticBand) for ports users choose; within a part: random probes, then a scan.
func (a *portAllocator) pickFree(used *big.Int, extra map[int]bool) (int, bool) {
	free := func(off int) bool { return used.Bit(off) == 0 && !extra[off+a.pr.Base] }
	band := staticBand(a.pr.Size)
	for _, part := range [][2]int{{band, a.pr.Size}, {0, band}} {
		lo, n := part[0], part[1]-part[0]
		if n <= 0 {
			continue
		}
		for i := 0; i < 32; i++ {
			if off := lo + rand.IntN(n); free(off) {
				return off, true
			}
		}
		start := rand.IntN(n)
		for i := 0; i < n; i++ {
			if off := lo + (start+i)%n; free(off) {
				return off, true
			}
		}
	}
	return 0, false
}

// staticBand is the size of the lower band of a range of size ports that automatic allocation
// uses last: size/32, at least 16 and at most 128 (none for a range under 16), as upstream.
func staticBand(size int) int {
	if size < 16 {
		return 0
	}
	return min(max(size/32, 16), 128)
}

// portOp is one request's NodePort changes, as upstream's PortAllocationOperation: allocations
// are written at once (and undone by finish(false)), releases wait for finish(true). A dry-run
// operation only checks.
type portOp struct {
	a         *portAllocator
	dryRun    bool
	allocated []int
	releases  []int
	// kept and freed are what finish(true) left allocated and released, for undo.
	kept, freed []int
}

func (a *portAllocator) begin(dryRun bool) *portOp { return &portOp{a: a, dryRun: dryRun} }

func (o *portOp) mine(port int) bool {
	for _, p := range o.allocated {
		if p == port {
			return true
		}
	}
	return false
}

// allocate reserves one given port.
func (o *portOp) allocate(ctx context.Context, port int) error {
	if !o.a.contains(port) {
		return &errPortNotInRange{valid: o.a.pr.String()}
	}
	if o.mine(port) {
		return errPortAllocated
	}
	off := port - o.a.pr.Base
	if o.dryRun {
		used, err := o.a.read(ctx)
		if err != nil {
			return err
		}
		if used.Bit(off) == 1 {
			return errPortAllocated
		}
	} else if err := o.a.update(ctx, func(used *big.Int) error {
		if used.Bit(off) == 1 {
			return errPortAllocated
		}
		used.SetBit(used, off, 1)
		return nil
	}); err != nil {
		return err
	}
	o.allocated = append(o.allocated, port)
	return nil
}

// allocateNext reserves any free port.
func (o *portOp) allocateNext(ctx context.Context) (int, error) {
	mine := map[int]bool{}
	for _, p := range o.allocated {
		mine[p] = true
	}
	var port int
	pick := func(used *big.Int) error {
		off, ok := o.a.pickFree(used, mine)
		if !ok {
			return errPortRangeFull
		}
		port = off + o.a.pr.Base
		if !o.dryRun {
			used.SetBit(used, off, 1)
		}
		return nil
	}
	if o.dryRun {
		used, err := o.a.read(ctx)
		if err != nil {
			return 0, err
		}
		if err := pick(used); err != nil {
			return 0, err
		}
	} else if err := o.a.update(ctx, pick); err != nil {
		return 0, err
	}
	o.allocated = append(o.allocated, port)
	return port, nil
}

// releaseDeferred frees port when the operation succeeds.
func (o *portOp) releaseDeferred(port int) {
	if port != 0 {
		o.releases = append(o.releases, port)
	}
}

// finish commits (success: run the deferred releases) or reverts (free what was allocated).
func (o *portOp) finish(ctx context.Context, success bool) error {
	if o.dryRun {
		return nil
	}
	free := o.allocated
	if success {
		free = o.releases
		o.kept, o.freed = o.allocated, o.releases
	}
	o.allocated, o.releases = nil, nil
	return o.a.release(ctx, free...)
}

// undo reverts a finished operation whose object was then not written (the store tries an
// update again when its write conflicts): its allocations are freed, its releases taken back.
func (o *portOp) undo(ctx context.Context) error {
	err := o.a.release(ctx, o.kept...)
	var offs []int
	for _, p := range o.freed {
		if o.a.contains(p) {
			offs = append(offs, p-o.a.pr.Base)
		}
	}
	if len(offs) > 0 {
		err = errors.Join(err, o.a.update(ctx, func(used *big.Int) error {
			for _, off := range offs {
				used.SetBit(used, off, 1)
			}
			return nil
		}))
	}
	o.kept, o.freed = nil, nil
	return err
}

// release frees ports now (unknown or out-of-range ports are ignored).
func (a *portAllocator) release(ctx context.Context, ports ...int) error {
	var offs []int
	for _, p := range ports {
		if a.contains(p) {
			offs = append(offs, p-a.pr.Base)
		}
	}
	if len(offs) == 0 {
		return nil
	}
	err := a.update(ctx, func(used *big.Int) error {
		for _, off := range offs {
			used.SetBit(used, off, 0)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("releasing node ports %v: %w", ports, err)
	}
	return nil
}
