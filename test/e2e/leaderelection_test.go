package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// TestLostControllerLeaseCampaignsAgain: another holder takes the controllers' leader-election
// Lease (as after renewals that timed out under load): skiff up stops its controllers and
// scheduler, keeps running, campaigns again, and once the other holder's Lease expired its
// controllers act again under a new term. Upstream's kube-controller-manager exits and is
// restarted by its supervisor; in one process that would end the whole cluster.
func TestLostControllerLeaseCampaignsAgain(t *testing.T) {
	longScenario(t)
	dir := t.TempDir()
	s := startSkiffT(t, dir, "--simulated-nodes=1")
	client := kubernetes.NewForConfigOrDie(s.restConfig(t))
	ctx := context.Background()
	leases := client.CoordinationV1().Leases("kube-system")
	var holder string
	eventually(t, 60*time.Second, func() error {
		l, err := leases.Get(ctx, "skiff-controller-manager", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if holder = ptr.Deref(l.Spec.HolderIdentity, ""); holder == "" {
			return fmt.Errorf("Lease not held")
		}
		return nil
	})
	eventually(t, 60*time.Second, func() error {
		if out := s.ok(t, "get", "nodes", "--no-headers"); !strings.Contains(out, " Ready ") {
			return fmt.Errorf("node not Ready:\n%s", out)
		}
		return nil
	})

	// Another process holds the Lease for 20 s.
	l, err := leases.Get(ctx, "skiff-controller-manager", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.NewMicroTime(time.Now())
	l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds = ptr.To("thief"), ptr.To[int32](20)
	l.Spec.AcquireTime, l.Spec.RenewTime = &now, &now
	l.Spec.LeaseTransitions = ptr.To(ptr.Deref(l.Spec.LeaseTransitions, 0) + 1)
	if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "logs", "skiff.log")
	eventually(t, 60*time.Second, func() error {
		b, err := os.ReadFile(logPath)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "Leader election lost: the controllers stopped, campaigning again") {
			return fmt.Errorf("no lost term in %s", logPath)
		}
		return nil
	})
	select {
	case <-s.exited:
		t.Fatalf("skiff up exited after losing the Lease: %v\n%s", s.exitErr, s.logTail())
	default:
	}

	// The controllers are stopped while the other holder's Lease lasts: a ReplicaSet made now
	// gets its pods only once this process leads again.
	ns := s.namespace(t)
	s.okIn(t, `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: after
spec:
  replicas: 2
  selector:
    matchLabels: {app: after}
  template:
    metadata:
      labels: {app: after}
    spec:
      containers:
      - {name: web, image: nginx}
`, "apply", "-n", ns, "-f", "-")
	eventually(t, 90*time.Second, func() error {
		l, err := leases.Get(ctx, "skiff-controller-manager", metav1.GetOptions{})
		if err != nil {
			return err
		}
		pods := s.ok(t, "get", "pods", "-n", ns, "-l", "app=after", "--no-headers")
		if h := ptr.Deref(l.Spec.HolderIdentity, ""); h != holder {
			if h == "thief" && strings.TrimSpace(pods) != "" {
				t.Fatalf("pods created while another process held the Lease:\n%s", pods)
			}
			return fmt.Errorf("Lease held by %q", h)
		}
		if strings.Count(pods, " Running ") != 2 {
			return fmt.Errorf("want 2 pods Running:\n%s", pods)
		}
		return nil
	})
	select {
	case <-s.exited:
		t.Fatalf("skiff up exited: %v\n%s", s.exitErr, s.logTail())
	default:
	}
}
