//go:build tools

// Package hack pins the code generators the Makefile runs.
package hack

import (
	_ "k8s.io/kube-openapi/cmd/openapi-gen"
)
