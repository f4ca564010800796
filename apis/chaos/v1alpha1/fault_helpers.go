package v1alpha1

import (
	"strings"
	"time"
)

// NodeName is the node a NodeHeartbeat or ImagePull fault targets ("" for PodKill).
func (f *Fault) NodeName() string {
	switch {
	case f.Spec.Type == NodeHeartbeat && f.Spec.NodeHeartbeat != nil:
		return f.Spec.NodeHeartbeat.NodeName
	case f.Spec.Type == ImagePull && f.Spec.ImagePull != nil:
		return f.Spec.ImagePull.NodeName
	}
	return ""
}

// EndsAt is when a running NodeHeartbeat or ImagePull fault ends: startTime+duration. ok is false
// when the fault has not started or has no duration.
func (f *Fault) EndsAt() (end time.Time, ok bool) {
	if f.Status.StartTime == nil || f.Spec.Duration == nil {
		return time.Time{}, false
	}
	return f.Status.StartTime.Add(f.Spec.Duration.Duration), true
}

// ActiveAt reports whether a NodeHeartbeat or ImagePull fault is in effect at now: it is
// Running and now is before its end. A node uses it to decide on its own clock, so a fault ends
// on time even when the controller is slow to mark it Succeeded.
func (f *Fault) ActiveAt(now time.Time) bool {
	if f.Status.Phase != FaultRunning || f.DeletionTimestamp != nil {
		return false
	}
	end, ok := f.EndsAt()
	return ok && now.Before(end)
}

// ImageMatches reports whether an image reference matches an ImagePull fault's images entry:
// equal, or the entry followed by a tag or digest, with or without a registry host (or any
// leading path components) in front.
func ImageMatches(entry, ref string) bool {
	entry = strings.TrimSpace(entry)
	if entry == "" {
		return false
	}
	for {
		if ref == entry || strings.HasPrefix(ref, entry+":") || strings.HasPrefix(ref, entry+"@") {
			return true
		}
		_, rest, ok := strings.Cut(ref, "/")
		if !ok {
			return false
		}
		ref = rest
	}
}

// MatchesImage reports whether an ImagePull fault covers ref (every image when images is empty).
func (f *Fault) MatchesImage(ref string) bool {
	if f.Spec.ImagePull == nil {
		return false
	}
	if len(f.Spec.ImagePull.Images) == 0 {
		return true
	}
	for _, e := range f.Spec.ImagePull.Images {
		if ImageMatches(e, ref) {
			return true
		}
	}
	return false
}
