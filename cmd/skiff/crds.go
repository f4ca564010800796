package main

import (
	"context"
	"fmt"

	"k8s.io/client-go/tools/clientcmd"

	skiffadmission "github.com/skiff-dev/skiff/apiserver/admission"
	"github.com/skiff-dev/skiff/config/crd"
)

// installCRDs installs the project's own kinds (chaos.skiff.dev Faults, ...) with the admin
// credential, so they are served before the controllers and the nodes watch them.
func installCRDs(ctx context.Context, adminKubeconfig string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", adminKubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", adminKubeconfig, err)
	}
	if err := crd.Install(ctx, cfg); err != nil {
		return fmt.Errorf("installing the project's CustomResourceDefinitions: %w", err)
	}
	return nil
}

// tolerationDefault is the flag default of a DefaultTolerationSeconds setting: upstream's 300 s
// when unset.
func tolerationDefault(s int64) int64 {
	if s == 0 {
		return skiffadmission.DefaultTolerationSeconds
	}
	return s
}
