package podnet

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// The host-local IPAM plugin keeps one file per allocated address, named by the address, under
// <dataDir>/<network>/, holding "<container ID>\r\n<interface>"; an existing file is never handed
// out again. Skiff reads and writes that store directly (before its node creates any pod).

// ReadStore returns the addresses held in a host-local store and the container ID holding each.
// A missing store is empty.
func ReadStore(dir string) (map[netip.Addr]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return map[netip.Addr]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the IPAM store %s: %w", dir, err)
	}
	out := map[netip.Addr]string{}
	for _, e := range entries {
		ip, err := netip.ParseAddr(e.Name())
		if err != nil || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading the IPAM store %s: %w", dir, err)
		}
		id, _, _ := strings.Cut(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
		out[ip] = strings.TrimSpace(id)
	}
	return out, nil
}

// ApplyReservations writes a ReservedID entry for each address of reserve and removes Skiff's
// entries of release (only if they still hold ReservedID).
func ApplyReservations(dir string, reserve, release []netip.Addr) error {
	if len(reserve) > 0 {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("IPAM store %s: %w", dir, err)
		}
	}
	var errs []error
	for _, ip := range reserve {
		f, err := os.OpenFile(filepath.Join(dir, ip.String()), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue // taken meanwhile: held either way
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reserving %s: %w", ip, err))
			continue
		}
		_, err = f.WriteString(ReservedID + "\r\neth0")
		errs = append(errs, err, f.Close())
	}
	for _, ip := range release {
		p := filepath.Join(dir, ip.String())
		b, err := os.ReadFile(p)
		if err != nil || !strings.HasPrefix(string(b), ReservedID) {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("releasing %s: %w", ip, err))
		}
	}
	return errors.Join(errs...)
}
