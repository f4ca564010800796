package apiserver

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/skiff-dev/skiff/test/poll"
)

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

// TestUnsyncedInformers: of two started informers, the one whose list never ends is named, the
// other, synced, is not; with both synced nothing is.
func TestUnsyncedInformers(t *testing.T) {
	client := fake.NewClientset()
	// Pod lists fail until refuse is cleared (a reactor must not block: the fake runs them
	// under one lock, which would hold the config maps' list too).
	var refuse atomic.Bool
	refuse.Store(true)
	client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		if refuse.Load() {
			return true, nil, errors.New("pods refused")
		}
		return false, nil, nil
	})
	factory := informers.NewSharedInformerFactory(client, 0)
	factory.Core().V1().Pods().Informer()
	factory.Core().V1().ConfigMaps().Informer()
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); factory.Shutdown() }()
	factory.Start(ctx.Done())
	poll.Eventually(t, "config maps synced", poll.Check(func() (bool, string) {
		return factory.Core().V1().ConfigMaps().Informer().HasSynced(), ""
	}))
	if got, want := unsyncedInformers(factory), "*v1.Pod"; got != want {
		t.Errorf("unsyncedInformers = %q, want %q", got, want)
	}
	refuse.Store(false)
	poll.Eventually(t, "every informer synced", poll.Check(func() (bool, string) {
		got := unsyncedInformers(factory)
		return got == "", "unsynced: " + got
	}))
}
