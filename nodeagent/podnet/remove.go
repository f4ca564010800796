package podnet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/util/wait"
	remote "k8s.io/cri-client/pkg"
)

const (
	// killTimeout bounds the wait for killed processes to be gone.
	killTimeout = 10 * time.Second
	// criTimeout bounds a connection to, and each call of, another containerd.
	criTimeout = 5 * time.Second
)

// Alive tells whether process p (pid and start time) still runs: a zombie does not.
func Alive(p Proc) bool {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(p.Pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	_, start, err := ParseStat(s)
	if err != nil || start != p.Start {
		return false
	}
	i := strings.LastIndexByte(s, ')')
	state := strings.Fields(s[i+1:])
	return len(state) > 0 && state[0] != "Z" && state[0] != "X"
}

// KillTrees sends SIGKILL to the processes roots and all their descendants (as k3s's killall
// script does to its shims), and waits until they are gone.
func KillTrees(ctx context.Context, procs []Proc, roots []int) error {
	byPid := map[int]Proc{}
	for _, p := range procs {
		byPid[p.Pid] = p
	}
	var victims []Proc
	for _, pid := range Descendants(procs, roots) {
		if p, ok := byPid[pid]; ok && pid != os.Getpid() {
			victims = append(victims, p)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return waitGone(ctx, victims)
}

// waitGone waits until every process of ps has exited.
func waitGone(ctx context.Context, ps []Proc) error {
	var left []int
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, killTimeout, true, func(context.Context) (bool, error) {
		left = left[:0]
		for _, p := range ps {
			if Alive(p) {
				left = append(left, p.Pid)
			}
		}
		return len(left) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("processes %v still run after SIGKILL: %w", left, err)
	}
	return nil
}

// StopProcess sends SIGTERM to p and, if it is still there after grace, SIGKILL.
func StopProcess(ctx context.Context, p Proc, grace time.Duration) error {
	if !Alive(p) {
		return nil
	}
	_ = syscall.Kill(p.Pid, syscall.SIGTERM)
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, grace, true, func(context.Context) (bool, error) {
		return !Alive(p), nil
	})
	if err == nil {
		return nil
	}
	_ = syscall.Kill(p.Pid, syscall.SIGKILL)
	return waitGone(ctx, []Proc{p})
}

// RemoveNetNS removes pods by their network namespaces: through the containerd their shims
// report to when it still answers CRI (StopPodSandbox, RemovePodSandbox), otherwise by killing
// their shims with everything below them and every process left in the namespace; then the
// namespace's mount is removed and the bridge's veth deleted. procs is the process list that
// nss was read with.
func RemoveNetNS(ctx context.Context, procs []Proc, nss []NetNS) error {
	var errs []error
	for _, n := range nss {
		if err := removeOne(ctx, procs, n); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

func removeOne(ctx context.Context, procs []Proc, n NetNS) error {
	var errs []error
	removedByCRI := len(n.Shims) > 0
	for _, s := range n.Shims {
		if err := removeThroughCRI(ctx, s); err != nil {
			removedByCRI = false
		}
	}
	if !removedByCRI {
		var roots []int
		for _, s := range n.Shims {
			roots = append(roots, s.Pid)
		}
		roots = append(roots, n.Pids...)
		if err := KillTrees(ctx, procs, roots); err != nil {
			errs = append(errs, err)
		}
	}
	if n.Path != "" {
		if err := unix.Unmount(n.Path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", n.Path, err))
		}
		if err := os.Remove(n.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := deleteLink(n.HostVeth); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// removeThroughCRI stops and removes the sandbox of a shim through its containerd, if that
// containerd answers.
func removeThroughCRI(ctx context.Context, s Shim) error {
	if s.Socket == "" || s.Sandbox == "" {
		return errors.New("shim without socket or sandbox")
	}
	if _, err := os.Stat(s.Socket); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, criTimeout)
	defer cancel()
	rs, err := remote.NewRemoteRuntimeServiceBuilder().WithEndpoint("unix://" + s.Socket).
		WithConnectionTimeout(criTimeout).WithTracerProvider(nil).Build(cctx)
	if err != nil {
		return err
	}
	if c, ok := rs.(interface{ Close(context.Context) error }); ok {
		defer c.Close(context.Background())
	}
	if err := rs.StopPodSandbox(cctx, s.Sandbox); err != nil {
		return err
	}
	return rs.RemovePodSandbox(cctx, s.Sandbox)
}

// deleteLink deletes a network interface; a missing one is fine.
func deleteLink(name string) error {
	if name == "" {
		return nil
	}
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("looking up %s: %w", name, err)
	}
	if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
		// ENODEV: gone meanwhile (a veth goes with its namespace).
		return fmt.Errorf("deleting %s: %w", name, err)
	}
	return nil
}

// DeleteBridge deletes a bridge (its veths detach); a missing one is fine.
func DeleteBridge(name string) error { return deleteLink(name) }

// LinkExists tells whether a network interface exists.
func LinkExists(name string) bool {
	_, err := netlink.LinkByName(name)
	return err == nil
}

// UnmountUnder lazily unmounts every mount at or below dir, deepest first (the rootfs overlays
// and shm of a containerd's state dir, the volumes of a node's pods), so that the directory can
// be removed without reaching through a mount. It returns the mount points it unmounted.
func UnmountUnder(dir string) ([]string, error) {
	mounts, err := Mounts()
	if err != nil {
		return nil, err
	}
	var done []string
	var errs []error
	for _, p := range MountsUnder(mounts, dir) {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", p, err))
			continue
		}
		done = append(done, p)
	}
	return done, errors.Join(errs...)
}
