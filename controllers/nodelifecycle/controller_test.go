package nodelifecycle

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/test/poll"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

type env struct {
	t      *testing.T
	ctx    context.Context
	client kubernetes.Interface
}

func startEnv(t *testing.T, c Config) *env {
	t.Helper()
	s := controllertest.Start(t, New(c).SetupWithManager)
	return &env{t: t, ctx: t.Context(), client: s.Client}
}

func (e *env) createReadyNode(name string) {
	e.t.Helper()
	now := metav1.Now()
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now},
				{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", LastHeartbeatTime: now, LastTransitionTime: now},
			},
		},
	}
	if _, err := e.client.CoreV1().Nodes().Create(e.ctx, n, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating node: %v", err)
	}
}

// leaseRenewer renews a node's Lease every 300ms while enabled.
type leaseRenewer struct {
	enabled atomic.Bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

func (e *env) renewLease(node string) *leaseRenewer {
	e.t.Helper()
	dur := int32(40)
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: LeaseNamespace, Name: node},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &node, LeaseDurationSeconds: &dur, RenewTime: &metav1.MicroTime{Time: time.Now()}},
	}
	if _, err := e.client.CoordinationV1().Leases(LeaseNamespace).Create(e.ctx, lease, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating lease: %v", err)
	}
	r := &leaseRenewer{stop: make(chan struct{})}
	r.enabled.Store(true)
	r.wg.Go(func() {
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-tick.C:
			}
			if !r.enabled.Load() {
				continue
			}
			l, err := e.client.CoordinationV1().Leases(LeaseNamespace).Get(context.Background(), node, metav1.GetOptions{})
			if err != nil {
				continue
			}
			l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
			_, _ = e.client.CoordinationV1().Leases(LeaseNamespace).Update(context.Background(), l, metav1.UpdateOptions{})
		}
	})
	e.t.Cleanup(func() { close(r.stop); r.wg.Wait() })
	return r
}

func (e *env) createBoundPod(name, node string, tolerations ...corev1.Toleration) *corev1.Pod {
	e.t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: corev1.PodSpec{NodeName: node, Tolerations: tolerations, TerminationGracePeriodSeconds: ptr(int64(0)),
			Containers: []corev1.Container{{Name: "c", Image: "pause"}}},
	}
	created, err := e.client.CoreV1().Pods("default").Create(e.ctx, p, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("creating pod %s: %v", name, err)
	}
	// Running and Ready, as a node agent would report.
	now := metav1.Now()
	created.Status.Phase = corev1.PodRunning
	created.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
	if _, err := e.client.CoreV1().Pods("default").UpdateStatus(e.ctx, created, metav1.UpdateOptions{}); err != nil {
		e.t.Fatalf("pod status %s: %v", name, err)
	}
	return created
}

// gone reports whether a pod was deleted (or is terminating).
func (e *env) gone(ctx context.Context, name string) (bool, error) {
	p, err := e.client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return p.DeletionTimestamp != nil, nil
}

func hasTaint(n *corev1.Node, key string, effect corev1.TaintEffect) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key && t.Effect == effect {
			return true
		}
	}
	return false
}

func TestLeaseExpiryTaintsEvictsAndRecovers(t *testing.T) {
	e := startEnv(t, Config{GracePeriod: 2 * time.Second, MonitorPeriod: 200 * time.Millisecond, OrphanQuarantine: time.Second, PodGCPeriod: 500 * time.Millisecond})
	e.createReadyNode("healthy")
	e.createReadyNode("flaky")
	e.renewLease("healthy")
	flaky := e.renewLease("flaky")

	exists := func(key string) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}
	}
	withSeconds := func(tol corev1.Toleration, s int64) corev1.Toleration { tol.TolerationSeconds = &s; return tol }
	// The API server's DefaultTolerationSeconds admission gives pods without their own
	// not-ready/unreachable tolerations 300s ones; "plain" opts out with 0s (evict at once).
	e.createBoundPod("plain", "flaky", withSeconds(exists(TaintNotReady), 0), withSeconds(exists(TaintUnreachable), 0))
	e.createBoundPod("tolerate-3s", "flaky", withSeconds(exists(TaintNotReady), 3), withSeconds(exists(TaintUnreachable), 3))
	e.createBoundPod("tolerate-forever", "flaky", exists(TaintUnreachable))
	defaulted := e.createBoundPod("defaulted", "flaky")
	e.createBoundPod("on-healthy", "healthy")

	flaky.enabled.Store(false)
	var tainted time.Time
	poll.Until(t, 20*time.Second, "flaky Unknown and tainted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		n, err := e.client.CoreV1().Nodes().Get(ctx, "flaky", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		c := condition(n, corev1.NodeReady)
		ok := c.Status == corev1.ConditionUnknown && c.Reason == "NodeStatusUnknown" && c.Message == "Kubelet stopped posting node status." &&
			hasTaint(n, TaintUnreachable, corev1.TaintEffectNoExecute) && hasTaint(n, TaintUnreachable, corev1.TaintEffectNoSchedule)
		if ok {
			tainted = time.Now()
			for _, typ := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
				if c := condition(n, typ); c == nil || c.Status != corev1.ConditionUnknown {
					t.Errorf("condition %s = %+v, want Unknown", typ, c)
				}
			}
		}
		return ok, nil
	}))

	poll.Until(t, 10*time.Second, "plain pod deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) { return e.gone(ctx, "plain") }))
	poll.Until(t, 10*time.Second, "TaintManagerEviction event", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		list, err := e.client.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, ev := range list.Items {
			if ev.Reason == "TaintManagerEviction" && ev.Message == "Marking for deletion Pod default/plain" {
				return true, nil
			}
		}
		return false, nil
	}))
	if g, _ := e.gone(e.ctx, "tolerate-3s"); g && time.Since(tainted) < 2*time.Second {
		t.Fatalf("tolerate-3s deleted after %v", time.Since(tainted))
	}
	poll.Until(t, 15*time.Second, "tolerate-3s pod deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) { return e.gone(ctx, "tolerate-3s") }))
	if d := time.Since(tainted); d < 2500*time.Millisecond {
		t.Errorf("tolerate-3s deleted %v after the taint, want about 3s", d)
	}
	poll.Until(t, 10*time.Second, "tolerate-forever marked not ready", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		p, err := e.client.CoreV1().Pods("default").Get(ctx, "tolerate-forever", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				return c.Status == corev1.ConditionFalse, nil
			}
		}
		return false, nil
	}))
	if g, err := e.gone(e.ctx, "tolerate-forever"); err != nil || g {
		t.Fatalf("tolerate-forever gone=%v err=%v", g, err)
	}
	// Without admission defaults a pod with no tolerations goes at once; with them it has 300s.
	if wait, forever := tolerationTime([]corev1.Taint{{Key: TaintUnreachable, Effect: corev1.TaintEffectNoExecute}}, defaulted.Spec.Tolerations); !forever && wait == 0 {
		poll.Until(t, 10*time.Second, "defaulted pod deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) { return e.gone(ctx, "defaulted") }))
	} else if g, _ := e.gone(e.ctx, "defaulted"); g {
		t.Errorf("defaulted pod (tolerations %v) deleted early", defaulted.Spec.Tolerations)
	}

	// Recovery: the node agent posts Ready again and renews its lease.
	flaky.enabled.Store(true)
	n, err := e.client.CoreV1().Nodes().Get(e.ctx, "flaky", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	for i := range n.Status.Conditions {
		c := &n.Status.Conditions[i]
		if c.Type == corev1.NodeReady {
			c.Status, c.Reason, c.Message = corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"
		} else {
			c.Status, c.Reason = corev1.ConditionFalse, "KubeletHasNoPressure"
		}
		c.LastHeartbeatTime, c.LastTransitionTime = now, now
	}
	if _, err := e.client.CoreV1().Nodes().UpdateStatus(e.ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "taints removed", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		n, err := e.client.CoreV1().Nodes().Get(ctx, "flaky", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(n.Spec.Taints) == 0 && readyStatus(n) == corev1.ConditionTrue, nil
	}))
	// The healthy node, renewed all along, was never touched.
	hn, err := e.client.CoreV1().Nodes().Get(e.ctx, "healthy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hn.Spec.Taints) != 0 || readyStatus(hn) != corev1.ConditionTrue {
		t.Errorf("healthy node changed: taints %v ready %s", hn.Spec.Taints, readyStatus(hn))
	}
	if g, _ := e.gone(e.ctx, "on-healthy"); g {
		t.Error("pod on the healthy node was deleted")
	}
}

func TestNotReadyAndCustomNoExecuteTaints(t *testing.T) {
	e := startEnv(t, Config{GracePeriod: 30 * time.Second, MonitorPeriod: 200 * time.Millisecond, OrphanQuarantine: time.Second, PodGCPeriod: 300 * time.Millisecond})
	e.createReadyNode("sick")
	e.createReadyNode("maint")
	e.renewLease("sick")
	e.renewLease("maint")
	zero := int64(0)
	e.createBoundPod("victim", "sick",
		corev1.Toleration{Key: TaintNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &zero})
	e.createBoundPod("untolerating", "maint")
	e.createBoundPod("tolerating", "maint", corev1.Toleration{Key: "example.com/maintenance", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute})
	e.createBoundPod("orphan", "ghost")

	n, err := e.client.CoreV1().Nodes().Get(e.ctx, "sick", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n.Status.Conditions {
		if c := &n.Status.Conditions[i]; c.Type == corev1.NodeReady {
			c.Status, c.Reason, c.LastHeartbeatTime = corev1.ConditionFalse, "KubeletNotReady", metav1.Now()
		}
	}
	if _, err := e.client.CoreV1().Nodes().UpdateStatus(e.ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "not-ready taints", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		n, err := e.client.CoreV1().Nodes().Get(ctx, "sick", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return hasTaint(n, TaintNotReady, corev1.TaintEffectNoExecute) && hasTaint(n, TaintNotReady, corev1.TaintEffectNoSchedule), nil
	}))
	poll.Until(t, 10*time.Second, "victim deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) { return e.gone(ctx, "victim") }))

	// A NoExecute taint someone else adds evicts the pods that do not tolerate it.
	m, err := e.client.CoreV1().Nodes().Get(e.ctx, "maint", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m.Spec.Taints = append(m.Spec.Taints, corev1.Taint{Key: "example.com/maintenance", Effect: corev1.TaintEffectNoExecute})
	if _, err := e.client.CoreV1().Nodes().Update(e.ctx, m, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "untolerating deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) { return e.gone(ctx, "untolerating") }))
	if g, _ := e.gone(e.ctx, "tolerating"); g {
		t.Error("tolerating pod deleted")
	}
	// The custom taint is not the controller's to remove.
	if m, _ := e.client.CoreV1().Nodes().Get(e.ctx, "maint", metav1.GetOptions{}); !hasTaint(m, "example.com/maintenance", corev1.TaintEffectNoExecute) {
		t.Error("custom taint removed")
	}

	poll.Until(t, 10*time.Second, "orphan deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		_, err := e.client.CoreV1().Pods("default").Get(ctx, "orphan", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}))
}
