package faults_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"

	chaosv1alpha1 "github.com/skiff-dev/skiff/apis/chaos/v1alpha1"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/config/crd"
	"github.com/skiff-dev/skiff/nodeagent/faults"
	"github.com/skiff-dev/skiff/nodeagent/simulated"
	"github.com/skiff-dev/skiff/test/poll"
)

// createRunning creates a Fault and marks it Running from now, as the fault controller does.
func createRunning(t *testing.T, dyn dynamic.Interface, f *chaosv1alpha1.Fault, pods ...chaosv1alpha1.FaultPod) {
	t.Helper()
	ctx := context.Background()
	f.Namespace = "default"
	f.APIVersion, f.Kind = chaosv1alpha1.GroupVersion.String(), "Fault"
	obj, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(f)
	api := dyn.Resource(faults.Resource).Namespace("default")
	u, err := api.Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, f); err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	f.Status = chaosv1alpha1.FaultStatus{Phase: chaosv1alpha1.FaultRunning, StartTime: &now, Pods: pods}
	obj, _ = runtime.DefaultUnstructuredConverter.ToUnstructured(f)
	if _, err := api.UpdateStatus(ctx, &unstructured.Unstructured{Object: obj}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestWatcherAndSimulatedNodes: a NodeHeartbeat fault stops one simulated node's Lease renewals
// for its duration (the other node keeps renewing); ImagePull and PodKill faults are answered for
// their node only, and a kill is recorded on the Fault's status.
func TestWatcherAndSimulatedNodes(t *testing.T) {
	s := apiservertest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := crd.Install(ctx, s.Config); err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(s.Config)
	w := faults.NewWatcher(dyn, nil)
	done := make(chan struct{}, 2)
	for i, name := range []string{"sim-a", "sim-b"} {
		n, err := simulated.New(simulated.Config{Name: name, Client: s.Client, Faults: w,
			RenewInterval: 100 * time.Millisecond, PodCIDR: fmt.Sprintf("10.244.%d.0/24", i+1)})
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = n.Start(ctx); done <- struct{}{} }()
	}
	defer func() { cancel(); <-done; <-done }()
	renewed := func(ctx context.Context, node string) time.Time {
		l, err := s.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, node, metav1.GetOptions{})
		if err != nil || l.Spec.RenewTime == nil {
			return time.Time{}
		}
		return l.Spec.RenewTime.Time
	}
	poll.Until(t, 20*time.Second, "both leases", poll.Cond(ctx, func(ctx context.Context) (bool, error) {
		return w.HasSynced() && !renewed(ctx, "sim-a").IsZero() && !renewed(ctx, "sim-b").IsZero(), nil
	}))

	createRunning(t, dyn, &chaosv1alpha1.Fault{ObjectMeta: metav1.ObjectMeta{Name: "hb"}, Spec: chaosv1alpha1.FaultSpec{
		Type: chaosv1alpha1.NodeHeartbeat, NodeHeartbeat: &chaosv1alpha1.NodeHeartbeatFault{NodeName: "sim-a"},
		Duration: &metav1.Duration{Duration: 3 * time.Second}}})
	createRunning(t, dyn, &chaosv1alpha1.Fault{ObjectMeta: metav1.ObjectMeta{Name: "pull"}, Spec: chaosv1alpha1.FaultSpec{
		Type: chaosv1alpha1.ImagePull, ImagePull: &chaosv1alpha1.ImagePullFault{NodeName: "sim-b", Images: []string{"skiff/busybox"}},
		Duration: &metav1.Duration{Duration: time.Minute}}})
	kill := &chaosv1alpha1.Fault{ObjectMeta: metav1.ObjectMeta{Name: "kill"}, Spec: chaosv1alpha1.FaultSpec{
		Type: chaosv1alpha1.PodKill, PodKill: &chaosv1alpha1.PodKillFault{PodName: "p"}}}
	createRunning(t, dyn, kill, chaosv1alpha1.FaultPod{Name: "p", UID: "uid-p", NodeName: "sim-b"})

	poll.Until(t, 10*time.Second, "the watcher to see the faults", poll.Cond(ctx, func(context.Context) (bool, error) {
		return w.HeartbeatFault("sim-a") != nil && len(w.PendingKills("sim-b")) == 1, nil
	}))
	if w.HeartbeatFault("sim-b") != nil || len(w.PendingKills("sim-a")) != 0 {
		t.Errorf("faults answered for the wrong node")
	}
	if err := w.PullError("sim-b", "127.0.0.1:5000/skiff/busybox:latest"); err == nil ||
		!strings.Contains(err.Error(), `code = Unavailable desc = failed to pull and unpack image "127.0.0.1:5000/skiff/busybox:latest"`) ||
		!strings.Contains(err.Error(), "Fault default/pull") {
		t.Errorf("PullError = %v", err)
	}
	if err := w.PullError("sim-a", "127.0.0.1:5000/skiff/busybox:latest"); err != nil {
		t.Errorf("pull on another node: %v", err)
	}
	if err := w.PullError("sim-b", "127.0.0.1:5000/skiff/pause:latest"); err != nil {
		t.Errorf("pull of another image: %v", err)
	}

	// While the fault lasts sim-a's Lease stands still and sim-b's moves on.
	var stoppedAt time.Time
	poll.Until(t, 5*time.Second, "sim-a's renewals to stop", poll.Cond(ctx, func(ctx context.Context) (bool, error) {
		a1 := renewed(ctx, "sim-a")
		ok := !stoppedAt.IsZero() && a1.Equal(stoppedAt)
		stoppedAt = a1
		return ok && w.HeartbeatFault("sim-a") != nil, nil
	}))
	b0 := renewed(ctx, "sim-b")
	poll.Until(t, 5*time.Second, "sim-b to renew", poll.Cond(ctx, func(ctx context.Context) (bool, error) { return renewed(ctx, "sim-b").After(b0), nil }))
	if a := renewed(ctx, "sim-a"); !a.Equal(stoppedAt) && w.HeartbeatFault("sim-a") != nil {
		t.Errorf("sim-a renewed during the fault")
	}
	poll.Until(t, 15*time.Second, "sim-a to renew after the fault", poll.Cond(ctx, func(ctx context.Context) (bool, error) { return renewed(ctx, "sim-a").After(stoppedAt), nil }))

	// The kill is recorded on the Fault.
	k := w.PendingKills("sim-b")[0]
	if err := w.MarkKilled(ctx, k, []string{"c"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 5*time.Second, "the kill on the status", poll.Cond(ctx, func(context.Context) (bool, error) { return len(w.PendingKills("sim-b")) == 0, nil }))
	u, err := dyn.Resource(faults.Resource).Namespace("default").Get(ctx, "kill", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := &chaosv1alpha1.Fault{}
	_ = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, got)
	if len(got.Status.Pods) != 1 || got.Status.Pods[0].KillTime == nil || len(got.Status.Pods[0].Containers) != 1 {
		t.Errorf("kill status: %+v", got.Status.Pods)
	}
}
