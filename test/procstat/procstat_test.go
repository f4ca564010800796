package procstat

import (
	"strings"
	"testing"
)

func TestCPUAdvances(t *testing.T) {
	before := CPU()
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	if after := CPU(); after < before || x < 0 {
		t.Errorf("CPU went from %v to %v", before, after)
	}
}

func TestLoadAverage(t *testing.T) {
	got := LoadAverage()
	if got != "unknown" && len(strings.Fields(got)) != 3 {
		t.Errorf("LoadAverage() = %q, want three fields", got)
	}
}
