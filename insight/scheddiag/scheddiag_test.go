package scheddiag

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

func TestStoreBounded(t *testing.T) {
	s := NewStore(3)
	for i := range 5 {
		s.Record(Diagnosis{PodUID: types.UID(fmt.Sprint(i)), Message: fmt.Sprint("m", i)})
	}
	// 0 again: now the newest.
	s.Record(Diagnosis{PodUID: "2", Message: "again"})
	if s.Len() != 3 {
		t.Fatalf("len %d, want 3", s.Len())
	}
	for uid, want := range map[types.UID]bool{"0": false, "1": false, "2": true, "3": true, "4": true} {
		if _, ok := s.Diagnosis(uid); ok != want {
			t.Errorf("pod %s kept %v, want %v", uid, ok, want)
		}
	}
	if d, _ := s.Diagnosis("2"); d.Message != "again" {
		t.Errorf("pod 2: %q", d.Message)
	}
	s.Record(Diagnosis{PodUID: "5"})
	s.Record(Diagnosis{PodUID: "6"})
	// 2 was recorded after 3 and 4: they go first.
	if _, ok := s.Diagnosis("2"); !ok {
		t.Errorf("pod 2 forgotten before older ones")
	}
	s.Forget("2")
	if _, ok := s.Diagnosis("2"); ok || s.Len() != 2 {
		t.Errorf("Forget: len %d", s.Len())
	}
	for i := range 100 {
		s.Record(Diagnosis{PodUID: "x"})
		_ = i
	}
	if len(s.order) > 6 {
		t.Errorf("order grows: %d", len(s.order))
	}
}
