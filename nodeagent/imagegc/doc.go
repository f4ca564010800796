// Package imagegc is the node agent's image garbage collector, upstream's
// pkg/kubelet/images/image_gc_manager.go with its disk-usage policy: every Period (5 min) it
// reads the image file system (CRI ImageFsInfo: the bytes the images use, and the capacity and
// free space of the file system of its mount point, statfs), and when its use reaches
// HighThresholdPercent (imageGCHighThresholdPercent, 85) it removes unused images, least
// recently used first (then first detected first), until the use is down to
// LowThresholdPercent (imageGCLowThresholdPercent, 80).
//
// An image is unused when no container of the runtime (running or exited) was made from it. Never
// removed: images in use, images the runtime pins (CRI's pinned, such as its sandbox image),
// images one of whose names is Protected (the node's builtin images: pause, busybox,
// skiff-http), and images detected less than MinAge (imageMinimumGCAge, 2 min) ago, which may have
// been pulled for a container about to start. The collector remembers when it first saw each
// image and when it last saw it in use, as upstream's image records (they start anew when the
// agent restarts).
//
// When it cannot free enough it records a FreeDiskSpaceFailed warning on the Node with
// upstream's message, and a collection failing twice in a row an ImageGCFailed warning.
// HighThresholdPercent 100 turns it off, as upstream.
//
// The decisions are pure and table-tested: AmountToFree (how many bytes, from the usage and the
// thresholds) and EvictionOrder (which images may go, in which order).
package imagegc
