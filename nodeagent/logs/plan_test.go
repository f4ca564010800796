package logs

import (
	"reflect"
	"testing"
	"time"
)

func TestPlanRotation(t *testing.T) {
	const l = "/logs/ns_p_uid/c/0.log"
	now := time.Date(2026, 12, 6, 2, 30, 45, 0, time.UTC)
	rotatedNow := l + ".20261206-023045"
	for _, tc := range []struct {
		name     string
		rotated  []string
		maxFiles int
		want     Plan
	}{
		{name: "first rotation", maxFiles: 5, want: Plan{Rotated: rotatedNow}},
		{name: "the previous rotation is compressed", maxFiles: 5,
			rotated: []string{l + ".20261206-023035"},
			want:    Plan{Compress: []string{l + ".20261206-023035"}, Rotated: rotatedNow}},
		{name: "up to maxFiles-2 kept, the oldest removed", maxFiles: 3,
			rotated: []string{l + ".20261206-023025.gz", l + ".20261206-023035", l + ".20261206-023015.gz"},
			want: Plan{Remove: []string{l + ".20261206-023015.gz", l + ".20261206-023025.gz"},
				Compress: []string{l + ".20261206-023035"}, Rotated: rotatedNow}},
		{name: "maxFiles 2 keeps no rotated file but the new one", maxFiles: 2,
			rotated: []string{l + ".20261206-023035"},
			want:    Plan{Remove: []string{l + ".20261206-023035"}, Rotated: rotatedNow}},
		{name: "leftovers of an interrupted compression", maxFiles: 5,
			rotated: []string{l + ".20261206-023025", l + ".20261206-023025.gz", l + ".20261206-023035.tmp", l + ".20261206-023035"},
			want: Plan{Remove: []string{l + ".20261206-023025", l + ".20261206-023035.tmp"},
				Compress: []string{l + ".20261206-023035"}, Rotated: rotatedNow}},
		{name: "compressed files stay compressed", maxFiles: 4,
			rotated: []string{l + ".20261206-023025.gz", l + ".20261206-023035.gz", l + ".20261206-023040"},
			want: Plan{Remove: []string{l + ".20261206-023025.gz"},
				Compress: []string{l + ".20261206-023040"}, Rotated: rotatedNow}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PlanRotation(l, tc.rotated, tc.maxFiles, now); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("PlanRotation:\n got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestParseMaxSize(t *testing.T) {
	for in, want := range map[string]int64{"10Mi": 10 << 20, "100Ki": 100 << 10, "1G": 1e9, "512": 512} {
		if got, err := ParseMaxSize(in); err != nil || got != want {
			t.Errorf("ParseMaxSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "0", "-1Mi"} {
		if _, err := ParseMaxSize(in); err == nil {
			t.Errorf("ParseMaxSize(%q) accepted", in)
		}
	}
}
