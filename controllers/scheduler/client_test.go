package scheduler

import (
	"testing"

	"k8s.io/client-go/rest"
)

func TestClientConfig(t *testing.T) {
	c := Config{}.withDefaults()
	for _, tc := range []struct {
		name              string
		base              rest.Config
		wantQPS           float32
		wantBurst         int
		wantType, wantAcc string
	}{
		{name: "unset limits take the scheduler's", base: rest.Config{},
			wantQPS: 1000, wantBurst: 2000, wantType: "application/vnd.kubernetes.protobuf", wantAcc: "application/vnd.kubernetes.protobuf,application/json"},
		{name: "the manager's limits are replaced", base: rest.Config{QPS: 20, Burst: 30},
			wantQPS: 1000, wantBurst: 2000, wantType: "application/vnd.kubernetes.protobuf", wantAcc: "application/vnd.kubernetes.protobuf,application/json"},
		{name: "unlimited stays unlimited", base: rest.Config{QPS: -1},
			wantQPS: -1, wantType: "application/vnd.kubernetes.protobuf", wantAcc: "application/vnd.kubernetes.protobuf,application/json"},
		{name: "a chosen content type is kept", base: rest.Config{ContentConfig: rest.ContentConfig{ContentType: "application/json"}},
			wantQPS: 1000, wantBurst: 2000, wantType: "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := tc.base
			got := clientConfig(&base, c)
			if got.QPS != tc.wantQPS || got.Burst != tc.wantBurst {
				t.Errorf("QPS, Burst = %v, %v; want %v, %v", got.QPS, got.Burst, tc.wantQPS, tc.wantBurst)
			}
			if got.ContentType != tc.wantType || got.AcceptContentTypes != tc.wantAcc {
				t.Errorf("content types = %q, %q; want %q, %q", got.ContentType, got.AcceptContentTypes, tc.wantType, tc.wantAcc)
			}
			if got.UserAgent != DefaultSchedulerName {
				t.Errorf("UserAgent = %q, want %q", got.UserAgent, DefaultSchedulerName)
			}
			if base.ContentType != tc.base.ContentType || base.QPS != tc.base.QPS {
				t.Errorf("the manager's config was changed: %+v", base)
			}
		})
	}
}
