package statefulset_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/statefulset"
	"github.com/skiff-dev/skiff/test/poll"
)

// env is a real API server with the StatefulSet controller and a fake kubelet that finishes
// deletions and marks the pods the test allows Running and Ready.
type env struct {
	t  *testing.T
	c  kubernetes.Interface
	ns string

	mu    sync.Mutex
	ready map[string]bool // pod names allowed to become ready; nil: all
}

func start(t *testing.T) *env {
	t.Helper()
	s := controllertest.Start(t, (&statefulset.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager)
	e := &env{t: t, c: s.Client, ns: "sts"}
	if _, err := e.c.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.StartKubelet(t, &controllertest.Kubelet{Client: e.c, Namespace: e.ns, FinishDeletions: true,
		Ready: func(p *corev1.Pod) bool { return e.allowed(p.Name) }})
	return e
}

func (e *env) allow(names ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ready == nil {
		e.ready = map[string]bool{}
	}
	for _, n := range names {
		e.ready[n] = true
	}
}

func (e *env) allowed(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ready == nil || e.ready[name]
}

func newSet(name string, replicas int32, mutate ...func(*appsv1.StatefulSet)) *appsv1.StatefulSet {
	l := map[string]string{"app": name}
	set := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(replicas),
			ServiceName: name,
			Selector:    &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1"}}}},
		},
	}
	for _, m := range mutate {
		m(set)
	}
	return set
}

func (e *env) create(set *appsv1.StatefulSet) {
	e.t.Helper()
	if _, err := e.c.AppsV1().StatefulSets(e.ns).Create(e.t.Context(), set, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) update(name string, mutate func(*appsv1.StatefulSet)) {
	e.t.Helper()
	// The controller's status writes race with ours: retry on conflicts, as kubectl does.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		set, err := e.c.AppsV1().StatefulSets(e.ns).Get(e.t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		mutate(set)
		_, err = e.c.AppsV1().StatefulSets(e.ns).Update(e.t.Context(), set, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// waitPods waits until the set's live pods are exactly want (name=image).
func (e *env) waitPods(set string, want ...string) map[string]corev1.Pod {
	e.t.Helper()
	out := map[string]corev1.Pod{}
	poll.Eventually(e.t, fmt.Sprintf("pods %v", want), poll.Cond(context.Background(), func(ctx context.Context) (bool, error) {
		pods, err := e.c.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + set})
		if err != nil {
			return false, err
		}
		var got []string
		clear(out)
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil {
				got = append(got, p.Name+"="+p.Spec.Containers[0].Image)
				out[p.Name] = p
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return false, fmt.Errorf("pods %v", got)
		}
		return true, nil
	}))
	return out
}

func TestOrderedCreationAndScaleDown(t *testing.T) {
	e := start(t)
	e.allow() // none ready yet
	e.create(newSet("web", 3))
	pods := e.waitPods("web", "web-0=nginx:1")
	p := pods["web-0"]
	if p.Spec.Hostname != "web-0" || p.Spec.Subdomain != "web" || p.Labels[appsv1.StatefulSetPodNameLabel] != "web-0" ||
		p.Labels[appsv1.PodIndexLabel] != "0" || p.Labels[appsv1.ControllerRevisionHashLabelKey] == "" {
		t.Errorf("web-0: hostname %q subdomain %q labels %v", p.Spec.Hostname, p.Spec.Subdomain, p.Labels)
	}
	e.allow("web-0")
	e.waitPods("web", "web-0=nginx:1", "web-1=nginx:1")
	e.allow("web-1", "web-2")
	e.waitPods("web", "web-0=nginx:1", "web-1=nginx:1", "web-2=nginx:1")
	poll.Eventually(t, "status 3 ready", poll.Cond(context.Background(), func(ctx context.Context) (bool, error) {
		s, err := e.c.AppsV1().StatefulSets(e.ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := s.Status
		return st.ObservedGeneration == s.Generation && st.Replicas == 3 && st.ReadyReplicas == 3 && st.AvailableReplicas == 3 &&
			st.CurrentReplicas == 3 && st.UpdatedReplicas == 3 && st.CurrentRevision != "" && st.CurrentRevision == st.UpdateRevision, nil
	}))
	// Reverse order: web-2 goes before web-1. The moment with only web-0 and web-1 left is short
	// (the fake kubelet finishes deletions at once): the order is read from a watch, not polled.
	list, err := e.c.CoreV1().Pods(e.ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // the watch ends with it
	defer cancel()
	w, err := e.c.CoreV1().Pods(e.ns).Watch(ctx, metav1.ListOptions{LabelSelector: "app=web", ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	e.update("web", func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](1) })
	var deleted []string
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok || (p.DeletionTimestamp == nil && ev.Type != watch.Deleted) || slices.Contains(deleted, p.Name) {
			continue
		}
		if deleted = append(deleted, p.Name); len(deleted) == 2 {
			break
		}
	}
	if !slices.Equal(deleted, []string{"web-2", "web-1"}) {
		t.Errorf("deletion order %v, want [web-2 web-1]", deleted)
	}
	e.waitPods("web", "web-0=nginx:1")
}

func TestRollingUpdateWithPartition(t *testing.T) {
	e := start(t)
	e.create(newSet("db", 3))
	e.waitPods("db", "db-0=nginx:1", "db-1=nginx:1", "db-2=nginx:1")
	e.update("db", func(s *appsv1.StatefulSet) {
		s.Spec.Template.Spec.Containers[0].Image = "nginx:2"
		s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](1)}
	})
	e.waitPods("db", "db-0=nginx:1", "db-1=nginx:2", "db-2=nginx:2")
	s, err := e.c.AppsV1().StatefulSets(e.ns).Get(t.Context(), "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Status.CurrentRevision == s.Status.UpdateRevision {
		t.Errorf("partitioned update completed: %+v", s.Status)
	}
	e.update("db", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To[int32](0) })
	e.waitPods("db", "db-0=nginx:2", "db-1=nginx:2", "db-2=nginx:2")
	poll.Eventually(t, "update revision current", poll.Cond(context.Background(), func(ctx context.Context) (bool, error) {
		s, err := e.c.AppsV1().StatefulSets(e.ns).Get(ctx, "db", metav1.GetOptions{})
		return err == nil && s.Status.CurrentRevision == s.Status.UpdateRevision && s.Status.UpdatedReplicas == 3, err
	}))
	revs, err := e.c.AppsV1().ControllerRevisions(e.ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=db"})
	if err != nil || len(revs.Items) != 2 {
		t.Fatalf("revisions: %v %v", revs, err)
	}
}

func TestClaimsPerOrdinal(t *testing.T) {
	e := start(t)
	e.create(newSet("data", 2, func(s *appsv1.StatefulSet) {
		s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "www"},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}}
		s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
			WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType}
	}))
	pods := e.waitPods("data", "data-0=nginx:1", "data-1=nginx:1")
	for i, name := range []string{"data-0", "data-1"} {
		claim := fmt.Sprintf("www-data-%d", i)
		pvc, err := e.c.CoreV1().PersistentVolumeClaims(e.ns).Get(t.Context(), claim, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("claim %s: %v", claim, err)
		}
		if pvc.Labels["app"] != "data" || len(pvc.OwnerReferences) != 1 || pvc.OwnerReferences[0].Kind != "StatefulSet" || pvc.Status.Phase != corev1.ClaimPending {
			t.Errorf("claim %s: labels %v owners %v phase %s", claim, pvc.Labels, pvc.OwnerReferences, pvc.Status.Phase)
		}
		found := false
		for _, v := range pods[name].Spec.Volumes {
			found = found || (v.Name == "www" && v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim)
		}
		if !found {
			t.Errorf("pod %s does not mount %s: %+v", name, claim, pods[name].Spec.Volumes)
		}
	}
}
