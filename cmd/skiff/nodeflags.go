package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/skiff-dev/skiff/nodeagent/agent"
	"github.com/skiff-dev/skiff/nodeagent/eviction"
)

// nodeEviction is the node's node-pressure eviction settings, the kubelet's flags.
type nodeEviction struct {
	hard, soft, softGrace string
	transition            time.Duration
	maxPodGrace           int64
	thresholds            []eviction.Threshold
}

func nodeEvictionFlags(fs *pflag.FlagSet, e *nodeEviction) {
	fs.StringVar(&e.hard, "eviction-hard", eviction.DefaultHard, "Hard eviction thresholds of the node (signal<quantity or percentage, comma-separated: memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree, pid.available); a pod is evicted at once when one is met. Empty: none.")
	fs.StringVar(&e.soft, "eviction-soft", "", "Soft eviction thresholds (as --eviction-hard), met for their --eviction-soft-grace-period before a pod is evicted.")
	fs.StringVar(&e.softGrace, "eviction-soft-grace-period", "", "Grace periods of the soft thresholds (signal=duration, comma-separated, e.g. memory.available=1m30s).")
	fs.DurationVar(&e.transition, "eviction-pressure-transition-period", 5*time.Minute, "How long a pressure condition stays after its threshold was last met.")
	fs.Int64Var(&e.maxPodGrace, "eviction-max-pod-grace-period", 0, "Largest grace period (seconds) of a pod evicted for a soft threshold (0: the pod's own).")
}

// nodeStaticPodFlags declares --pod-manifest-path.
func nodeStaticPodFlags(fs *pflag.FlagSet, n *localNode) {
	fs.StringVar(&n.podManifestPath, "pod-manifest-path", "", "Directory of static pod manifests (*.yaml, *.yml, *.json) the node runs itself, each with a mirror pod in the API, as the kubelet's staticPodPath.")
}

// parse checks the thresholds (at the command's start, before anything runs).
func (e *nodeEviction) parse() error {
	ts, err := eviction.ParseThresholds(e.hard, e.soft, e.softGrace)
	if err != nil {
		return fmt.Errorf("--eviction-hard/--eviction-soft: %w", err)
	}
	if e.maxPodGrace < 0 {
		return fmt.Errorf("--eviction-max-pod-grace-period must not be negative")
	}
	e.thresholds = ts
	return nil
}

// apply sets the agent's eviction configuration.
func (e *nodeEviction) apply(cfg *agent.Config) {
	cfg.EvictionThresholds, cfg.EvictionPressureTransitionPeriod, cfg.EvictionMaxPodGracePeriod = e.thresholds, e.transition, e.maxPodGrace
}
