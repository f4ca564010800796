package e2e

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestCrashLosesNoAcknowledgedWrite kills the single server (SIGKILL) while writers create
// ConfigMaps as fast as they can, recording every create the server acknowledged; after a
// restart on the same data dir every acknowledged ConfigMap is there (counted, not sampled) and
// the server takes writes again.
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	dir := t.TempDir()
	s := startSkiffT(t, dir)
	ns := s.namespace(t)
	cfg := s.restConfig(t)
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limit
	cfg.Timeout = 10 * time.Second
	client := kubernetes.NewForConfigOrDie(cfg)

	const writers, maxPerWriter = 8, 1000 // bounded: at most 8000 creates
	var acked sync.Map
	var nAcked, nFailed atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range maxPerWriter {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%d", w, i)
				_, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
					ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"i": fmt.Sprint(i)}}, metav1.CreateOptions{})
				if err != nil {
					nFailed.Add(1)
					return // the server is gone: this writer stops
				}
				acked.Store(name, true)
				nAcked.Add(1)
			}
		}()
	}
	// Kill once the storm is well under way.
	deadline := time.Now().Add(30 * time.Second)
	for nAcked.Load() < 500 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	s.kill()
	killedAt := nAcked.Load()
	close(stop)
	wg.Wait()
	total := nAcked.Load()
	t.Logf("killed after %d acknowledged creates; %d acknowledged in all, %d writers saw the crash", killedAt, total, nFailed.Load())
	if total < 100 {
		t.Fatalf("only %d creates acknowledged before the kill: the storm did not happen", total)
	}

	s2 := startSkiffT(t, dir)
	client2 := kubernetes.NewForConfigOrDie(s2.restConfig(t))
	var list *corev1.ConfigMapList
	eventually(t, 30*time.Second, func() error {
		var err error
		list, err = client2.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		return err
	})
	present := map[string]bool{}
	for _, cm := range list.Items {
		present[cm.Name] = true
	}
	missing := 0
	acked.Range(func(k, _ any) bool {
		if !present[k.(string)] {
			missing++
			if missing <= 10 {
				t.Errorf("acknowledged ConfigMap %s/%s is missing after the crash", ns, k)
			}
		}
		return true
	})
	t.Logf("after restart: %d of %d acknowledged ConfigMaps present (%d in the namespace, unacknowledged ones may be there too)", int(total)-missing, total, len(list.Items))
	if missing > 0 {
		t.Fatalf("%d acknowledged ConfigMaps lost", missing)
	}
	// The restarted server is healthy and takes writes.
	s2.ok(t, "create", "configmap", "after-crash", "-n", ns)
	if out := s2.ok(t, "get", "--raw", "/readyz"); out != "ok" {
		t.Errorf("/readyz after restart: %q", out)
	}
	s2.ok(t, "delete", "namespace", ns, "--wait=false")
}
