package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/skiff-dev/skiff/nodeagent/agent"
	"github.com/skiff-dev/skiff/nodeagent/imagegc"
	"github.com/skiff-dev/skiff/nodeagent/logs"
)

// nodeHousekeeping is the node agent's log rotation and image garbage collection, as the
// kubelet's flags of the same names set them.
type nodeHousekeeping struct {
	containerLogMaxSize  string
	containerLogMaxFiles int
	imageGCHigh          int
	imageGCLow           int
}

func nodeHousekeepingFlags(fs *pflag.FlagSet, h *nodeHousekeeping) {
	fs.StringVar(&h.containerLogMaxSize, "container-log-max-size", "10Mi", "Maximum size of a container's log file before it is rotated, a quantity such as 10Mi (the kubelet's containerLogMaxSize).")
	fs.IntVar(&h.containerLogMaxFiles, "container-log-max-files", logs.DefaultMaxFiles, "Maximum number of a container's log files kept, the current one included; at least 2 (the kubelet's containerLogMaxFiles).")
	fs.IntVar(&h.imageGCHigh, "image-gc-high-threshold", imagegc.DefaultHighThresholdPercent, "Percent of the image file system's use at which unused images are removed; 100 turns image garbage collection off (the kubelet's flag).")
	fs.IntVar(&h.imageGCLow, "image-gc-low-threshold", imagegc.DefaultLowThresholdPercent, "Percent of the image file system's use that image garbage collection frees down to; below --image-gc-high-threshold (the kubelet's flag).")
}

// validate checks the flags as the kubelet's validation does.
func (h *nodeHousekeeping) validate() error {
	_, err := h.maxSize()
	return err
}

func (h *nodeHousekeeping) maxSize() (int64, error) {
	size, err := logs.ParseMaxSize(h.containerLogMaxSize)
	if err != nil {
		return 0, err
	}
	if h.containerLogMaxFiles <= 1 {
		return 0, fmt.Errorf("invalid configuration: containerLogMaxFiles (--container-log-max-files) must be greater than 1")
	}
	if err := imagegc.ValidateThresholds(h.imageGCHigh, h.imageGCLow); err != nil {
		return 0, err
	}
	return size, nil
}

// apply sets the checked flags in cfg.
func (h *nodeHousekeeping) apply(cfg *agent.Config) error {
	size, err := h.maxSize()
	if err != nil {
		return err
	}
	cfg.ContainerLogMaxSize, cfg.ContainerLogMaxFiles = size, h.containerLogMaxFiles
	cfg.ImageGCHighThresholdPercent, cfg.ImageGCLowThresholdPercent = h.imageGCHigh, h.imageGCLow
	return nil
}
