package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// The API server generates a CA, a serving certificate and a ServiceAccount signing key (RSA)
// in a new data dir, which costs a noticeable part of a start. Every Env of one test process
// gets its own data dir and etcd, but the same keys: the first Env's pki/ is kept in memory and
// written into the following data dirs, where the server loads it instead of generating it.
var pkiTemplate struct {
	sync.Mutex
	files map[string][]byte
}

// seedPKI writes the kept pki/ files into dataDir, if any were kept.
func seedPKI(dataDir string) error {
	pkiTemplate.Lock()
	defer pkiTemplate.Unlock()
	if len(pkiTemplate.files) == 0 {
		return nil
	}
	dir := filepath.Join(dataDir, "pki")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("seeding pki: %w", err)
	}
	for name, b := range pkiTemplate.files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return fmt.Errorf("seeding pki: %w", err)
		}
	}
	return nil
}

// keepPKI reads dataDir's pki/ files once per process.
func keepPKI(dataDir string) {
	pkiTemplate.Lock()
	defer pkiTemplate.Unlock()
	if len(pkiTemplate.files) > 0 {
		return
	}
	dir := filepath.Join(dataDir, "pki")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return
		}
		files[e.Name()] = b
	}
	pkiTemplate.files = files
}
