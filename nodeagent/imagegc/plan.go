package imagegc

import (
	"fmt"
	"sort"
	"time"
)

// Image is what the collector knows of one image.
type Image struct {
	ID   string
	Tags []string
	Size int64
	// FirstDetected is when the collector first listed it; LastUsed when it last saw a
	// container made from it (zero: never).
	FirstDetected, LastUsed time.Time
	// InUse: a container of the runtime was made from it; Pinned: the runtime pins it;
	// Protected: one of its names is one the node never removes.
	InUse, Pinned, Protected bool
}

// AmountToFree is upstream's decision from the image file system's capacity and available
// bytes: the usage in percent and, when it reaches high, the bytes to free to be back at low
// (else 0). A capacity of 0 is an error (upstream's InvalidDiskCapacity).
func AmountToFree(capacity, available int64, high, low int) (usagePercent int, amount int64, err error) {
	if capacity <= 0 {
		return 0, 0, fmt.Errorf("invalid capacity %d on image filesystem", capacity)
	}
	available = min(available, capacity)
	usagePercent = 100 - int(available*100/capacity)
	if usagePercent >= high {
		amount = capacity*int64(100-low)/100 - available
	}
	return usagePercent, amount, nil
}

// EvictionOrder returns the images that may be removed at now, least recently used first
// (ties: first detected first): not in use, not pinned, not protected, and detected at least
// minAge before now.
func EvictionOrder(images []Image, now time.Time, minAge time.Duration) []Image {
	var out []Image
	for _, im := range images {
		if im.InUse || im.Pinned || im.Protected || now.Sub(im.FirstDetected) < minAge {
			continue
		}
		out = append(out, im)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].LastUsed.Equal(out[j].LastUsed) {
			return out[i].FirstDetected.Before(out[j].FirstDetected)
		}
		return out[i].LastUsed.Before(out[j].LastUsed)
	})
	return out
}

// formatSize is upstream's human-readable size of the FreeDiskSpaceFailed message.
func formatSize(b int64) string {
	const (
		kib = 1024
		mib = 1024 * kib
		gib = 1024 * mib
		tib = 1024 * gib
	)
	s := float64(b)
	switch {
	case s < kib:
		return fmt.Sprintf("%d B", b)
	case s < mib:
		return fmt.Sprintf("%.1f KiB", s/kib)
	case s < gib:
		return fmt.Sprintf("%.1f MiB", s/mib)
	case s < tib:
		return fmt.Sprintf("%.1f GiB", s/gib)
	default:
		return fmt.Sprintf("%.1f TiB", s/tib)
	}
}
