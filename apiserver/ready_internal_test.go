package apiserver

import "testing"

func TestFailingChecks(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"ok", ""},
		{"[+]ping ok\n[-]informer-sync failed: reason withheld\n[+]etcd ok\n[-]poststarthook/rbac/bootstrap-roles failed: not finished\nreadyz check failed\n",
			"informer-sync poststarthook/rbac/bootstrap-roles"},
		{"", ""},
	} {
		if got := failingChecks([]byte(tc.body)); got != tc.want {
			t.Errorf("failingChecks(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}
