package imagegc

import (
	"slices"
	"testing"
	"time"
)

func TestAmountToFree(t *testing.T) {
	for _, tc := range []struct {
		name                string
		capacity, available int64
		high, low           int
		wantPercent         int
		wantAmount          int64
		wantErr             bool
	}{
		{name: "under the high threshold", capacity: 1000, available: 200, high: 85, low: 80, wantPercent: 80},
		{name: "at the high threshold: back to the low one", capacity: 1000, available: 150, high: 85, low: 80, wantPercent: 85, wantAmount: 50},
		{name: "full disk", capacity: 1000, available: 0, high: 85, low: 80, wantPercent: 100, wantAmount: 200},
		{name: "available above capacity is capacity", capacity: 1000, available: 5000, high: 85, low: 80, wantPercent: 0},
		{name: "zero capacity", capacity: 0, available: 0, high: 85, low: 80, wantErr: true},
		{name: "low threshold 0 frees everything", capacity: 1000, available: 100, high: 90, low: 0, wantPercent: 90, wantAmount: 900},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, a, err := AmountToFree(tc.capacity, tc.available, tc.high, tc.low)
			if (err != nil) != tc.wantErr || p != tc.wantPercent || a != tc.wantAmount {
				t.Errorf("AmountToFree = %d%%, %d, %v; want %d%%, %d, error %v", p, a, err, tc.wantPercent, tc.wantAmount, tc.wantErr)
			}
		})
	}
}

func TestEvictionOrder(t *testing.T) {
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	old := ago(time.Hour)
	for _, tc := range []struct {
		name   string
		images []Image
		want   []string
	}{
		{name: "least recently used first, never used before used", images: []Image{
			{ID: "used-5m", FirstDetected: old, LastUsed: ago(5 * time.Minute)},
			{ID: "never", FirstDetected: old},
			{ID: "used-30m", FirstDetected: old, LastUsed: ago(30 * time.Minute)},
		}, want: []string{"never", "used-30m", "used-5m"}},
		{name: "ties broken by first detected", images: []Image{
			{ID: "b", FirstDetected: ago(10 * time.Minute)},
			{ID: "a", FirstDetected: ago(20 * time.Minute)},
		}, want: []string{"a", "b"}},
		{name: "in use, pinned, protected and young images stay", images: []Image{
			{ID: "in-use", FirstDetected: old, LastUsed: now, InUse: true},
			{ID: "pinned", FirstDetected: old, Pinned: true},
			{ID: "builtin", FirstDetected: old, Protected: true},
			{ID: "just-pulled", FirstDetected: ago(time.Minute)},
			{ID: "two-minutes", FirstDetected: ago(2 * time.Minute)},
		}, want: []string{"two-minutes"}},
		{name: "nothing", want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, im := range EvictionOrder(tc.images, now, 2*time.Minute) {
				got = append(got, im.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("EvictionOrder = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidateThresholds(t *testing.T) {
	if err := ValidateThresholds(85, 80); err != nil {
		t.Error(err)
	}
	for _, c := range [][2]int{{80, 80}, {101, 80}, {85, -1}, {50, 60}} {
		if ValidateThresholds(c[0], c[1]) == nil {
			t.Errorf("thresholds %v accepted", c)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for b, want := range map[int64]string{512: "512 B", 2048: "2.0 KiB", 10 << 20: "10.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := formatSize(b); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", b, got, want)
		}
	}
}
