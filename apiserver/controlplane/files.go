package controlplane

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// SharedPrefixes are the data-dir paths (a directory ends in "/") every control-plane member
// needs identical copies of: the PKI (cluster CA and key, etcd CA and key, service-account keys)
// and the encryption-at-rest configuration with its keys (without it a member or a restored
// snapshot could not read Secrets). Components that add cluster-wide files elsewhere in the data
// dir list them here, so that joining members and snapshot archives carry them.
var SharedPrefixes = []string{"pki/", "encryption-config.yaml"}

// MemberFiles are files under SharedPrefixes that belong to one member and are never copied:
// certificates naming its own addresses.
var MemberFiles = []string{
	"pki/apiserver.crt", "pki/apiserver.key",
	"pki/etcd/member.crt", "pki/etcd/member.key",
	"pki/etcd/client.crt", "pki/etcd/client.key",
}

// maxSharedBytes bounds what is read or accepted as shared files.
const maxSharedBytes = 8 << 20

// SharedFiles reads the shared files of dataDir, keyed by slash-separated relative path.
func SharedFiles(dataDir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	total := 0
	for _, prefix := range SharedPrefixes {
		root := filepath.Join(dataDir, filepath.FromSlash(prefix))
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(dataDir, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if slices.Contains(MemberFiles, rel) || strings.HasSuffix(rel, ".tmp") {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if total += len(b); total > maxSharedBytes {
				return fmt.Errorf("the shared files of %s exceed %d bytes", dataDir, maxSharedBytes)
			}
			out[rel] = b
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading shared files: %w", err)
		}
	}
	return out, nil
}

// CheckSharedPath refuses a path that is not a clean relative path under SharedPrefixes (a
// received file list must not write anywhere else).
func CheckSharedPath(rel string) error {
	clean := path.Clean(rel)
	if clean != rel || path.IsAbs(rel) || strings.HasPrefix(clean, "../") || clean == ".." || strings.Contains(rel, "\\") {
		return fmt.Errorf("unsafe shared file path %q", rel)
	}
	for _, p := range SharedPrefixes {
		if strings.HasSuffix(p, "/") && strings.HasPrefix(rel, p) || rel == p {
			if slices.Contains(MemberFiles, rel) {
				return fmt.Errorf("%q belongs to one member", rel)
			}
			return nil
		}
	}
	return fmt.Errorf("%q is not a shared control-plane file", rel)
}

// WriteSharedFiles writes files (relative paths) under dataDir, private to the owner.
func WriteSharedFiles(dataDir string, files map[string][]byte) error {
	for _, rel := range slices.Sorted(maps.Keys(files)) {
		if err := CheckSharedPath(rel); err != nil {
			return err
		}
		p := filepath.Join(dataDir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", filepath.Dir(p), err)
		}
		mode := os.FileMode(0o600)
		if strings.HasSuffix(rel, ".crt") || strings.HasSuffix(rel, ".pub") {
			mode = 0o644
		}
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, files[rel], mode); err != nil {
			return fmt.Errorf("writing %s: %w", tmp, err)
		}
		if err := os.Rename(tmp, p); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
	}
	return nil
}
