package volumes

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
)

// validatePath is upstream's AtomicWriter path check: relative, no "..", no leading "..".
func validatePath(p string) error {
	if p == "" {
		return fmt.Errorf("invalid path: must not be empty")
	}
	if filepath.IsAbs(p) {
		return fmt.Errorf("invalid path: must be relative path: %s", p)
	}
	for _, part := range strings.Split(p, string(os.PathSeparator)) {
		if part == ".." {
			return fmt.Errorf("invalid path: must not contain '..': %s", p)
		}
	}
	if strings.HasPrefix(p, "..") {
		return fmt.Errorf("invalid path: must not start with '..': %s", p)
	}
	return nil
}

// WriteAtomic writes files into dir as upstream's AtomicWriter does: the files live in a
// timestamped directory that the "..data" symlink points at, and each top-level entry is a
// symlink through "..data", so a container sees either the old or the new set, never a mix. It
// does nothing when the content is unchanged, and reports whether it wrote.
func WriteAtomic(dir string, files map[string]File) (bool, error) {
	for p := range files {
		if err := validatePath(p); err != nil {
			return false, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	dataLink := filepath.Join(dir, dataDirName)
	oldTS, _ := os.Readlink(dataLink)
	if oldTS != "" && unchanged(filepath.Join(dir, oldTS), files) {
		return false, nil
	}
	ts, err := os.MkdirTemp(dir, "..2006_01_02_15_04_05.")
	if err != nil {
		return false, err
	}
	if err := os.Chmod(ts, 0o755); err != nil {
		return false, err
	}
	for p, f := range files {
		full := filepath.Join(ts, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(full, f.Data, os.FileMode(f.Mode)&os.ModePerm); err != nil {
			return false, err
		}
		if err := os.Chmod(full, os.FileMode(f.Mode)&os.ModePerm); err != nil {
			return false, err
		}
	}
	tmpLink := filepath.Join(dir, newDataDirName)
	_ = os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(ts), tmpLink); err != nil {
		return false, err
	}
	if err := os.Rename(tmpLink, dataLink); err != nil {
		return false, err
	}
	// top-level links
	want := map[string]bool{}
	for p := range files {
		top := strings.SplitN(p, string(os.PathSeparator), 2)[0]
		want[top] = true
	}
	for top := range want {
		link := filepath.Join(dir, top)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join(dataDirName, top), link); err != nil {
			return false, err
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, "..") {
			if n != dataDirName && n != filepath.Base(ts) && e.IsDir() {
				_ = os.RemoveAll(filepath.Join(dir, n))
			}
			continue
		}
		if !want[n] && e.Type()&os.ModeSymlink != 0 {
			_ = os.Remove(filepath.Join(dir, n))
		}
	}
	return true, nil
}

func unchanged(tsDir string, files map[string]File) bool {
	n := 0
	err := filepath.Walk(tsDir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		n++
		rel, _ := filepath.Rel(tsDir, p)
		f, ok := files[rel]
		if !ok || info.Mode().Perm() != os.FileMode(f.Mode)&os.ModePerm {
			return fmt.Errorf("changed")
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(b, f.Data) {
			return fmt.Errorf("changed")
		}
		return nil
	})
	return err == nil && n == len(files)
}
