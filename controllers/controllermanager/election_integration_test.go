package controllermanager_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers/controllermanager"
	"github.com/skiff-dev/skiff/test/poll"
	"github.com/skiff-dev/skiff/testenv"
)

// TestLostLeaseRestartsControllers runs every controller with leader election on a real API
// server, takes their Lease away twice, and checks that each time the controllers stop, Start
// keeps running, a new term acts again once the other holder's Lease expired, and no term
// leaves goroutines behind (a whole manager's would be hundreds: informers, workers), and that
// a new term lists no pods: it starts on the cache the terms share (controllers.SharedCache).
func TestLostLeaseRestartsControllers(t *testing.T) {
	if testing.Short() {
		t.Skip("leader election terms: about 20 s")
	}
	env := testenv.Start(t, testenv.WithoutControllers())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base := runtime.NumGoroutine()
	c := controllermanager.DefaultConfig()
	c.Manager.MetricsBindAddress = "0"
	c.Manager.LeaseDuration, c.Manager.RenewDeadline, c.Manager.RetryPeriod = 2*time.Second, time.Second, 200*time.Millisecond
	c.SkipNameValidation = true // other tests' managers in this process
	// podReads counts the controllers' lists and streaming lists of pods (not the garbage
	// collector's metadata-only ones: it keeps informers of its own).
	var podReads atomic.Int32
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			q := r.URL.Query()
			if r.Method == http.MethodGet && r.URL.Path == "/api/v1/pods" && !strings.Contains(r.Header.Get("Accept"), "PartialObjectMetadata") &&
				(q.Get("watch") != "true" || q.Get("sendInitialEvents") == "true") {
				podReads.Add(1)
			}
			return rt.RoundTrip(r)
		})
	})
	done := make(chan error, 1)
	go func() { done <- controllermanager.Start(ctx, cfg, c) }()

	leases := env.Clientset.CoordinationV1().Leases("kube-system")
	transitions := int32(0)
	holder := func() string {
		l, err := leases.Get(ctx, "skiff-controller-manager", metav1.GetOptions{})
		if err != nil {
			return ""
		}
		transitions = ptr.Deref(l.Spec.LeaseTransitions, 0)
		return ptr.Deref(l.Spec.HolderIdentity, "")
	}
	var me string
	poll.Eventually(t, "Lease held", poll.Check(func() (bool, string) { me = holder(); return me != "" && me != "thief", "" }))
	ns := env.Namespace(t)
	// acting: a new ReplicaSet gets its pods (the controllers of the current term run).
	acting := func(t *testing.T, name string) {
		t.Helper()
		rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"rs": name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"rs": name}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}}}
		if _, err := env.Clientset.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "pods of ReplicaSet "+name, poll.Check(func() (bool, string) {
			pods, err := env.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "rs=" + name})
			return err == nil && len(pods.Items) == 1, ""
		}))
	}
	acting(t, "term-0")
	first := runtime.NumGoroutine()
	t.Logf("goroutines: %d before Start, %d in the first term", base, first)

	for i := 1; i <= 2; i++ {
		t.Run(fmt.Sprintf("term %d", i), func(t *testing.T) {
			before := transitions
			// Another process holds the Lease for 2 s (retried: the holder renews it every 200 ms).
			if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
				l, err := leases.Get(ctx, "skiff-controller-manager", metav1.GetOptions{})
				if err != nil {
					return err
				}
				now := metav1.NewMicroTime(time.Now())
				l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.AcquireTime, l.Spec.RenewTime = ptr.To("thief"), ptr.To[int32](2), &now, &now
				_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			reads := podReads.Load()
			poll.Eventually(t, "Lease taken back", poll.Check(func() (bool, string) { return holder() == me, "" }))
			if transitions != before+1 {
				t.Errorf("Lease transitions %d, want %d (a new term)", transitions, before+1)
			}
			select {
			case err := <-done:
				t.Fatalf("Start returned after a lost Lease: %v", err)
			default:
			}
			acting(t, fmt.Sprintf("term-%d", i))
			if n := podReads.Load() - reads; n != 0 {
				t.Errorf("the new term listed pods %d times, want none (a shared cache)", n)
			}
			// The stopped term's goroutines are gone: no more than the first term had.
			poll.Eventually(t, "goroutines of the stopped term", poll.Check(func() (bool, string) {
				n := runtime.NumGoroutine()
				return n <= first+50, fmt.Sprintf("%d goroutines, %d in the first term", n, first)
			}))
			t.Logf("goroutines in term %d: %d", i, runtime.NumGoroutine())
		})
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Start did not return after its context ended")
	}
	poll.Eventually(t, "goroutines after Start returned", poll.Check(func() (bool, string) {
		n := runtime.NumGoroutine()
		return n <= base+50, fmt.Sprintf("%d goroutines, %d before Start", n, base)
	}))
	if h := holder(); h != "" {
		t.Errorf("Lease held by %q after Start returned, want released", h)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
