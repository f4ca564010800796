package allocation

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// fileName is the checkpoint's name in the pod's directory.
const fileName = "allocation.json"

// Store keeps each pod's State in <Dir(uid)>/allocation.json.
type Store struct {
	// Dir is the pod's directory (the agent's pods/<uid>).
	Dir func(uid string) string
}

// Load returns the pod's State; false when it has none.
func (s Store) Load(uid string) (State, bool, error) {
	b, err := os.ReadFile(filepath.Join(s.Dir(uid), fileName))
	if errors.Is(err, os.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, false, fmt.Errorf("decoding the allocation of pod %s: %w", uid, err)
	}
	return st, true, nil
}

// Save writes the pod's State (atomically: a temporary file renamed).
func (s Store) Save(uid string, st State) error {
	dir := s.Dir(uid)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, fileName+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, fileName))
}
