// Package e2e runs the real skiff binary and the real kubectl against it.
//
// TestMain builds bin/skiff once into a temporary directory (SKIFF_BIN overrides it); each
// test either uses the shared cluster (one `skiff up` for the package, one namespace per test)
// or starts its own on a temporary data dir with every port 0. Nothing waits by sleeping:
// readiness, watches and deletions are polled with deadlines.
//
//	go test ./test/e2e/
package e2e
