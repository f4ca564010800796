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
