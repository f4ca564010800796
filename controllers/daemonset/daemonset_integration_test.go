package daemonset_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/daemonset"
	"github.com/skiff-dev/skiff/controllers/scheduler"
	"github.com/skiff-dev/skiff/test/poll"
)

// env is a real API server with the DaemonSet controller, the scheduler and a fake kubelet.
type env struct {
	t  *testing.T
	c  kubernetes.Interface
	ns string
	// auto makes the fake kubelet mark bound pods Running and Ready; off, the test does it.
	auto atomic.Bool
}

func start(t *testing.T) *env {
	t.Helper()
	s := controllertest.Start(t,
		(&daemonset.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager,
		scheduler.New(scheduler.Config{}).SetupWithManager)
	e := &env{t: t, c: s.Client, ns: "ds"}
	e.auto.Store(true)
	if _, err := e.c.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.StartKubelet(t, &controllertest.Kubelet{Client: e.c, Namespace: e.ns, FinishDeletions: true,
		Ready: func(p *corev1.Pod) bool { return e.auto.Load() && p.Spec.NodeName != "" }})
	return e
}

func (e *env) node(name string, labels map[string]string, taints ...corev1.Taint) {
	e.t.Helper()
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"),
				corev1.ResourcePods: resource.MustParse("110")},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
	if _, err := e.c.CoreV1().Nodes().Create(e.t.Context(), n, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) updateNode(name string, mutate func(*corev1.Node)) {
	e.t.Helper()
	n, err := e.c.CoreV1().Nodes().Get(e.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	mutate(n)
	if _, err := e.c.CoreV1().Nodes().Update(e.t.Context(), n, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func newDS(name, image string, mutate ...func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	l := map[string]string{"app": name}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}},
		},
	}
	for _, m := range mutate {
		m(ds)
	}
	return ds
}

func (e *env) create(ds *appsv1.DaemonSet) *appsv1.DaemonSet {
	e.t.Helper()
	out, err := e.c.AppsV1().DaemonSets(e.ns).Create(e.t.Context(), ds, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) get(name string) *appsv1.DaemonSet {
	e.t.Helper()
	ds, err := e.c.AppsV1().DaemonSets(e.ns).Get(e.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

func (e *env) setImage(name, image string) {
	e.t.Helper()
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":%q}]}}}}`, image)
	if _, err := e.c.AppsV1().DaemonSets(e.ns).Patch(e.t.Context(), name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// pods returns the DaemonSet's live pods by node name.
func (e *env) pods(ctx context.Context, name string) (map[string][]corev1.Pod, error) {
	list, err := e.c.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		return nil, err
	}
	m := map[string][]corev1.Pod{}
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			n, _ := daemonset.TargetNodeName(&p)
			m[n] = append(m[n], p)
		}
	}
	return m, nil
}

// waitPods waits until the DaemonSet has one bound pod on exactly the given nodes, each with
// an image of want.
func (e *env) waitPods(name, image string, nodes ...string) map[string]corev1.Pod {
	e.t.Helper()
	var out map[string]corev1.Pod
	poll.Eventually(e.t, fmt.Sprintf("%s pods with %s on %v", name, image, nodes), poll.Cond(e.t.Context(), func(ctx context.Context) (bool, error) {
		m, err := e.pods(ctx, name)
		if err != nil {
			return false, err
		}
		out = map[string]corev1.Pod{}
		var got []string
		for n, ps := range m {
			got = append(got, n)
			if len(ps) != 1 || ps[0].Spec.NodeName != n || ps[0].Spec.Containers[0].Image != image {
				return false, fmt.Errorf("node %s: %d pods", n, len(ps))
			}
			out[n] = ps[0]
		}
		slices.Sort(got)
		if !slices.Equal(got, nodes) {
			return false, fmt.Errorf("pods on %v", got)
		}
		return true, nil
	}))
	return out
}

// rolloutStatus is kubectl's DaemonSetStatusViewer.Status.
func rolloutStatus(ds *appsv1.DaemonSet) (string, bool, error) {
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType {
		return "", true, fmt.Errorf("rollout status is only available for %s strategy type", appsv1.RollingUpdateStatefulSetStrategyType)
	}
	if ds.Generation <= ds.Status.ObservedGeneration {
		if ds.Status.UpdatedNumberScheduled < ds.Status.DesiredNumberScheduled {
			return fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d out of %d new pods have been updated...\n", ds.Name, ds.Status.UpdatedNumberScheduled, ds.Status.DesiredNumberScheduled), false, nil
		}
		if ds.Status.NumberAvailable < ds.Status.DesiredNumberScheduled {
			return fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d of %d updated pods are available...\n", ds.Name, ds.Status.NumberAvailable, ds.Status.DesiredNumberScheduled), false, nil
		}
		return fmt.Sprintf("daemon set %q successfully rolled out\n", ds.Name), true, nil
	}
	return "Waiting for daemon set spec update to be observed...\n", false, nil
}

func (e *env) waitRolledOut(name string) *appsv1.DaemonSet {
	e.t.Helper()
	var ds *appsv1.DaemonSet
	poll.Eventually(e.t, "rollout of "+name, poll.Cond(e.t.Context(), func(ctx context.Context) (bool, error) {
		var err error
		if ds, err = e.c.AppsV1().DaemonSets(e.ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return false, err
		}
		_, done, err := rolloutStatus(ds)
		return done, err
	}))
	return ds
}

// TestPlacement: one pod per eligible node, nodeSelector and taints respected, pods follow
// label and taint changes and new nodes; the pods are bound by the scheduler through their
// node affinity and carry the controller reference, tolerations and revision labels.
func TestPlacement(t *testing.T) {
	e := start(t)
	e.node("n1", nil)
	e.node("n2", map[string]string{"disk": "ssd"})
	e.node("n3", nil, corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule})
	e.node("n4", nil, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})

	all := e.create(newDS("all", "busybox"))
	ssd := e.create(newDS("ssd", "busybox", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"} }))
	pods := e.waitPods("all", "busybox", "n1", "n2", "n4")
	e.waitPods("ssd", "busybox", "n2")

	p := pods["n1"]
	if !metav1.IsControlledBy(&p, all) {
		t.Errorf("pod %s owner references %+v", p.Name, p.OwnerReferences)
	}
	if !strings.HasPrefix(p.Name, "all-") {
		t.Errorf("pod name %s", p.Name)
	}
	if n, err := daemonset.TargetNodeName(&corev1.Pod{Spec: corev1.PodSpec{Affinity: p.Spec.Affinity}}); err != nil || n != "n1" {
		t.Errorf("pod affinity %+v: %q %v", p.Spec.Affinity, n, err)
	}
	tolerated := map[string]bool{}
	for _, tol := range p.Spec.Tolerations {
		tolerated[tol.Key+":"+string(tol.Effect)] = true
	}
	for _, want := range []string{"node.kubernetes.io/not-ready:NoExecute", "node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unschedulable:NoSchedule",
		"node.kubernetes.io/disk-pressure:NoSchedule", "node.kubernetes.io/memory-pressure:NoSchedule", "node.kubernetes.io/pid-pressure:NoSchedule"} {
		if !tolerated[want] {
			t.Errorf("pod lacks toleration %s: %+v", want, p.Spec.Tolerations)
		}
	}
	revs, err := e.c.AppsV1().ControllerRevisions(e.ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=all"})
	if err != nil || len(revs.Items) != 1 {
		t.Fatalf("revisions: %v %d", err, len(revs.Items))
	}
	hash := revs.Items[0].Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
	if revs.Items[0].Name != "all-"+hash || revs.Items[0].Revision != 1 || p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] != hash ||
		p.Labels[daemonset.TemplateGenerationLabel] != "1" {
		t.Errorf("revision %s (%d), pod labels %v", revs.Items[0].Name, revs.Items[0].Revision, p.Labels)
	}
	if got := e.get("all").Annotations[daemonset.TemplateGenerationAnnotation]; got != "1" {
		t.Errorf("template generation annotation %q", got)
	}
	ds := e.waitRolledOut("all")
	want := appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 3, NumberAvailable: 3, UpdatedNumberScheduled: 3, ObservedGeneration: 1}
	if !reflect.DeepEqual(ds.Status, want) {
		t.Errorf("status %+v, want %+v", ds.Status, want)
	}

	// A label, a NoExecute taint and a new node move the pods.
	e.updateNode("n1", func(n *corev1.Node) { n.Labels = map[string]string{"disk": "ssd"} })
	e.updateNode("n2", func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "evict", Effect: corev1.TaintEffectNoExecute})
	})
	e.node("n5", nil)
	e.waitPods("ssd", "busybox", "n1")
	e.waitPods("all", "busybox", "n1", "n4", "n5")
	poll.Eventually(t, "status of ssd", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		ds, err := e.c.AppsV1().DaemonSets(e.ns).Get(ctx, ssd.Name, metav1.GetOptions{})
		return err == nil && ds.Status.DesiredNumberScheduled == 1 && ds.Status.NumberAvailable == 1 && ds.Status.NumberMisscheduled == 0, err
	}))
}

// TestRollingUpdate rolls a new image out node by node within maxUnavailable 1, then rolls
// back by applying the first ControllerRevision as `kubectl rollout undo` does.
func TestRollingUpdate(t *testing.T) {
	e := start(t)
	for _, n := range []string{"n1", "n2", "n3"} {
		e.node(n, nil)
	}
	e.create(newDS("web", "busybox:1"))
	e.waitPods("web", "busybox:1", "n1", "n2", "n3")
	e.waitRolledOut("web")

	// The test plays the kubelet: new pods become ready only when it says so.
	e.auto.Store(false)
	e.setImage("web", "busybox:2")
	for step := 1; step <= 3; step++ {
		var fresh []corev1.Pod
		poll.Eventually(t, fmt.Sprintf("step %d: %d new pod(s), the others old and ready", step, step), poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
			m, err := e.pods(ctx, "web")
			if err != nil {
				return false, err
			}
			fresh = fresh[:0]
			newCount, oldReady := 0, 0
			for _, ps := range m {
				for _, p := range ps {
					if p.Spec.Containers[0].Image == "busybox:2" {
						newCount++
						if p.Status.Phase != corev1.PodRunning {
							fresh = append(fresh, p)
						}
					} else if p.Status.Phase == corev1.PodRunning {
						oldReady++
					}
				}
			}
			return newCount == step && oldReady == 3-step && len(fresh) == 1 && fresh[0].Spec.NodeName != "", nil
		}))
		ds := e.get("web")
		if msg, done, _ := rolloutStatus(ds); done {
			t.Fatalf("step %d: rollout done early: %s", step, msg)
		}
		// Never more than maxUnavailable (1) node without an available pod.
		if ds.Status.NumberUnavailable > 1 {
			t.Errorf("step %d: %d unavailable", step, ds.Status.NumberUnavailable)
		}
		_ = controllertest.MarkReady(t.Context(), e.c, &fresh[0], "")
	}
	e.auto.Store(true)
	ds := e.waitRolledOut("web")
	e.waitPods("web", "busybox:2", "n1", "n2", "n3")
	if ds.Status.UpdatedNumberScheduled != 3 || ds.Status.ObservedGeneration != ds.Generation || ds.Annotations[daemonset.TemplateGenerationAnnotation] != "2" {
		t.Errorf("after rollout: %+v, annotations %v", ds.Status, ds.Annotations)
	}

	// kubectl rollout history lists the revisions; undo applies the previous one's data.
	revs, err := e.c.AppsV1().ControllerRevisions(e.ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(revs.Items) != 2 {
		t.Fatalf("revisions: %v, %d", err, len(revs.Items))
	}
	var first appsv1.ControllerRevision
	for _, r := range revs.Items {
		if r.Revision == 1 {
			first = r
		}
	}
	if _, err := e.c.AppsV1().DaemonSets(e.ns).Patch(t.Context(), "web", types.StrategicMergePatchType, first.Data.Raw, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitRolledOut("web")
	e.waitPods("web", "busybox:1", "n1", "n2", "n3")
	poll.Eventually(t, "revision 1 renumbered to 3", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		r, err := e.c.AppsV1().ControllerRevisions(e.ns).Get(ctx, first.Name, metav1.GetOptions{})
		return err == nil && r.Revision == 3, err
	}))
	m, _ := e.pods(t.Context(), "web")
	for n, ps := range m {
		if ps[0].Labels[appsv1.DefaultDaemonSetUniqueLabelKey] != first.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] {
			t.Errorf("pod on %s has hash %s, want the first revision's", n, ps[0].Labels[appsv1.DefaultDaemonSetUniqueLabelKey])
		}
	}
}

// TestOnDelete: a template change replaces only the pods that are deleted.
func TestOnDelete(t *testing.T) {
	e := start(t)
	e.node("n1", nil)
	e.node("n2", nil)
	e.create(newDS("od", "busybox:1", func(ds *appsv1.DaemonSet) {
		ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
	}))
	pods := e.waitPods("od", "busybox:1", "n1", "n2")
	e.setImage("od", "busybox:2")
	poll.Eventually(t, "the new generation observed", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		ds, err := e.c.AppsV1().DaemonSets(e.ns).Get(ctx, "od", metav1.GetOptions{})
		return err == nil && ds.Status.ObservedGeneration == ds.Generation && ds.Status.UpdatedNumberScheduled == 0 && ds.Status.NumberAvailable == 2, err
	}))
	if _, _, err := rolloutStatus(e.get("od")); err == nil {
		t.Errorf("rollout status of OnDelete gives no error")
	}
	if err := e.c.CoreV1().Pods(e.ns).Delete(t.Context(), pods["n1"].Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "n1 replaced with the new image, n2 untouched", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		m, err := e.pods(ctx, "od")
		if err != nil || len(m["n1"]) != 1 || len(m["n2"]) != 1 {
			return false, err
		}
		return m["n1"][0].Spec.Containers[0].Image == "busybox:2" && m["n2"][0].Name == pods["n2"].Name, nil
	}))
	poll.Eventually(t, "status: one updated", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
		ds, err := e.c.AppsV1().DaemonSets(e.ns).Get(ctx, "od", metav1.GetOptions{})
		return err == nil && ds.Status.UpdatedNumberScheduled == 1 && ds.Status.NumberAvailable == 2, err
	}))
}
