package apiserver

import (
	"os"
	"testing"
)

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
	const mib = int64(1) << 20
	for _, tc := range []struct {
		name          string
		outside, live int64
		want          int64
	}{
		{"small cluster: the target less the file-backed memory", 300 * mib, 500 * mib, ControlPlaneMemoryTarget - 300*mib},
		{"a larger database leaves less", 700 * mib, 500 * mib, ControlPlaneMemoryTarget - 700*mib},
		{"just under the crossover", 300 * mib, 2600 * mib, ControlPlaneMemoryTarget - 300*mib},
		{"large cluster: live and a quarter again", 300 * mib, 3000 * mib, 3000*mib + 750*mib + 256*mib},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MemoryLimitFor(tc.outside, tc.live); got != tc.want {
				t.Errorf("MemoryLimitFor(%d MiB outside, %d MiB live) = %d MiB, want %d MiB", tc.outside/mib, tc.live/mib, got/mib, tc.want/mib)
			}
		})
	}
}

func TestFileBacked(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status string
		bytes  int64
		ok     bool
	}{
		{"both", "Name:\tskiff\nVmRSS:\t 3500000 kB\nRssAnon:\t 3000000 kB\nRssFile:\t  400000 kB\nRssShmem:\t     100 kB\n", (400000 + 100) << 10, true},
		{"RssShmem missing", "RssFile:\t400000 kB\n", 0, false},
		{"not a number", "RssFile:\tmany kB\nRssShmem:\t0 kB\n", 0, false},
		{"empty", "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bytes, ok := fileBacked([]byte(tc.status))
			if bytes != tc.bytes || ok != tc.ok {
				t.Errorf("fileBacked = %d, %v; want %d, %v", bytes, ok, tc.bytes, tc.ok)
			}
		})
	}
}

func TestFileBackedOfThisProcess(t *testing.T) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if bytes, ok := fileBacked(status); !ok || bytes <= 0 {
		t.Errorf("fileBacked(/proc/self/status) = %d, %v; want the test binary's pages", bytes, ok)
	}
}
