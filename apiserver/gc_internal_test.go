package apiserver

import "testing"

func TestGCSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		percent int
		limit   int64
	}{
		{"nothing set", nil, ControlPlaneGCPercent, ControlPlaneMemoryLimit},
		{"GOGC set", map[string]string{"GOGC": "50"}, 0, ControlPlaneMemoryLimit},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "8GiB"}, ControlPlaneGCPercent, 0},
		{"both set", map[string]string{"GOGC": "off", "GOMEMLIMIT": "1GiB"}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			percent, limit := gcSettings(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if percent != tc.percent || limit != tc.limit {
				t.Errorf("gcSettings = %d, %d; want %d, %d", percent, limit, tc.percent, tc.limit)
			}
		})
	}
}

func TestMemoryLimitFor(t *testing.T) {
	const base, mib = ControlPlaneMemoryLimit, int64(1) << 20
	for _, tc := range []struct {
		name string
		live int64
		want int64
	}{
		{"small cluster: the base", 500 * mib, base},
		{"at the crossover", 1877 * mib, base},
		{"large cluster: live and half again", 2600 * mib, 2600*mib + 1300*mib + 256*mib},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MemoryLimitFor(base, tc.live); got != tc.want {
				t.Errorf("MemoryLimitFor(%d MiB) = %d MiB, want %d MiB", tc.live/mib, got/mib, tc.want/mib)
			}
		})
	}
}
