package replicaset_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/replicaset"
	"github.com/skiff-dev/skiff/test/poll"
)

func startController(t *testing.T) *kubernetes.Clientset {
	t.Helper()
	return controllertest.Start(t, (&replicaset.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager).Client
}

func newNamespace(t *testing.T, c kubernetes.Interface, name string) string {
	t.Helper()
	_, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return name
}

func newRS(name string, replicas int32) *appsv1.ReplicaSet {
	l := map[string]string{"app": name}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name, "tier": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
			},
		},
	}
}

// ownedPods lists the active pods controlled by the ReplicaSet uid.
func ownedPods(c kubernetes.Interface, ns string, uid types.UID) ([]corev1.Pod, error) {
	list, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == uid && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

func waitPods(t *testing.T, c kubernetes.Interface, rs *appsv1.ReplicaSet, n int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	poll.Eventually(t, fmt.Sprintf("%d pods for %s", n, rs.Name), func() error {
		var err error
		if pods, err = ownedPods(c, rs.Namespace, rs.UID); err != nil {
			return err
		}
		if len(pods) != n {
			return fmt.Errorf("have %d pods", len(pods))
		}
		return nil
	})
	return pods
}

func waitStatus(t *testing.T, c kubernetes.Interface, rs *appsv1.ReplicaSet, ok func(*appsv1.ReplicaSet) bool) *appsv1.ReplicaSet {
	t.Helper()
	var got *appsv1.ReplicaSet
	poll.Eventually(t, "ReplicaSet status", func() error {
		var err error
		if got, err = c.AppsV1().ReplicaSets(rs.Namespace).Get(context.Background(), rs.Name, metav1.GetOptions{}); err != nil {
			return err
		}
		if !ok(got) {
			return fmt.Errorf("status %+v (generation %d)", got.Status, got.Generation)
		}
		return nil
	})
	return got
}

func markReady(t *testing.T, c kubernetes.Interface, p *corev1.Pod, ip string) {
	t.Helper()
	poll.Eventually(t, "mark pod ready", func() error {
		cur, err := c.CoreV1().Pods(p.Namespace).Get(context.Background(), p.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Status.Phase = corev1.PodRunning
		cur.Status.PodIP = ip
		cur.Status.PodIPs = []corev1.PodIP{{IP: ip}}
		cur.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
		_, err = c.CoreV1().Pods(p.Namespace).UpdateStatus(context.Background(), cur, metav1.UpdateOptions{})
		return err
	})
}

func TestReplicaSetIntegration(t *testing.T) {
	c := startController(t)
	ctx := context.Background()

	t.Run("creates, scales 30 and back, recreates deleted pods", func(t *testing.T) {
		ns := newNamespace(t, c, "rs-scale")
		rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, newRS("web", 3), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pods := waitPods(t, c, rs, 3)
		for _, p := range pods {
			ref := metav1.GetControllerOf(&p)
			if !strings.HasPrefix(p.Name, "web-") || p.Labels["tier"] != "web" || ref.Kind != "ReplicaSet" ||
				ref.Name != "web" || !ptr.Deref(ref.BlockOwnerDeletion, false) {
				t.Errorf("pod %s: labels %v ownerRef %+v", p.Name, p.Labels, ref)
			}
		}
		waitStatus(t, c, rs, func(r *appsv1.ReplicaSet) bool {
			return r.Status.Replicas == 3 && r.Status.FullyLabeledReplicas == 3 && r.Status.ObservedGeneration == r.Generation
		})

		scale := func(n int32) {
			poll.Eventually(t, "scale", func() error {
				_, err := c.AppsV1().ReplicaSets(ns).UpdateScale(ctx, "web", &autoscalingv1.Scale{
					ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: n}}, metav1.UpdateOptions{})
				return err
			})
		}
		scale(30)
		waitPods(t, c, rs, 30)
		waitStatus(t, c, rs, func(r *appsv1.ReplicaSet) bool { return r.Status.Replicas == 30 })
		// No double creates once the cache catches up.
		time.Sleep(300 * time.Millisecond)
		waitPods(t, c, rs, 30)
		scale(1)
		pods = waitPods(t, c, rs, 1)
		waitStatus(t, c, rs, func(r *appsv1.ReplicaSet) bool {
			return r.Status.Replicas == 1 && r.Status.ObservedGeneration == r.Generation
		})

		if err := c.CoreV1().Pods(ns).Delete(ctx, pods[0].Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "replacement pod", func() error {
			got, err := ownedPods(c, ns, rs.UID)
			if err != nil {
				return err
			}
			if len(got) != 1 || got[0].Name == pods[0].Name {
				return fmt.Errorf("pods %d", len(got))
			}
			return nil
		})

	})

	t.Run("events", func(t *testing.T) {
		// The event recorder's spam filter allows a burst of 25 per object, so use a small RS.
		ns := newNamespace(t, c, "rs-events")
		rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, newRS("ev", 2), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		waitPods(t, c, rs, 2)
		poll.Eventually(t, "scale down", func() error {
			_, err := c.AppsV1().ReplicaSets(ns).UpdateScale(ctx, "ev", &autoscalingv1.Scale{
				ObjectMeta: metav1.ObjectMeta{Name: "ev", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 1}}, metav1.UpdateOptions{})
			return err
		})
		waitPods(t, c, rs, 1)
		poll.Eventually(t, "events", func() error {
			evs, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			var created, deleted bool
			for _, e := range evs.Items {
				created = created || e.Reason == "SuccessfulCreate" && strings.HasPrefix(e.Message, "Created pod: ev-") && e.InvolvedObject.Name == "ev"
				deleted = deleted || e.Reason == "SuccessfulDelete" && strings.HasPrefix(e.Message, "Deleted pod: ev-")
			}
			if !created || !deleted {
				return fmt.Errorf("SuccessfulCreate %v SuccessfulDelete %v", created, deleted)
			}
			return nil
		})
	})

	t.Run("adopts orphans and releases pods that stop matching", func(t *testing.T) {
		ns := newNamespace(t, c, "rs-adopt")
		orphan := &corev1.Pod{
			// A higher deletion cost: if the ReplicaSet made two pods before it saw the orphan,
			// one of those goes, not the orphan (its other ranks tie within the same second).
			ObjectMeta: metav1.ObjectMeta{Name: "orphan", Labels: map[string]string{"app": "api"},
				Annotations: map[string]string{replicaset.PodDeletionCostAnnotation: "100"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
		}
		if _, err := c.CoreV1().Pods(ns).Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, newRS("api", 2), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// The controller's cache may see the ReplicaSet before the orphan: it then creates two
		// pods, adopts the orphan when it shows up and deletes one of its own.
		poll.Eventually(t, "orphan adopted", func() error {
			p, err := c.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if ref := metav1.GetControllerOf(p); ref == nil || ref.UID != rs.UID {
				return fmt.Errorf("orphan's controller: %v", ref)
			}
			return nil
		})
		pods := waitPods(t, c, rs, 2)
		var adopted bool
		for _, p := range pods {
			adopted = adopted || p.Name == "orphan"
		}
		if !adopted {
			t.Fatalf("orphan not among the pods kept: %v", pods)
		}
		// fullyLabeledReplicas: the orphan lacks the template's tier label.
		waitStatus(t, c, rs, func(r *appsv1.ReplicaSet) bool {
			return r.Status.Replicas == 2 && r.Status.FullyLabeledReplicas == 1
		})

		// Relabel one pod out of the selector: it is released and replaced.
		poll.Eventually(t, "relabel", func() error {
			p, err := c.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{})
			if err != nil {
				return err
			}
			p.Labels = map[string]string{"app": "debug"}
			_, err = c.CoreV1().Pods(ns).Update(ctx, p, metav1.UpdateOptions{})
			return err
		})
		poll.Eventually(t, "release", func() error {
			p, err := c.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if len(p.OwnerReferences) != 0 {
				return fmt.Errorf("still owned: %v", p.OwnerReferences)
			}
			return nil
		})
		pods = waitPods(t, c, rs, 2)
		for _, p := range pods {
			if p.Name == "orphan" {
				t.Errorf("released pod still counted")
			}
		}
	})

	t.Run("ready and available replicas", func(t *testing.T) {
		ns := newNamespace(t, c, "rs-ready")
		r := newRS("ready", 2)
		r.Spec.MinReadySeconds = 1
		rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, r, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pods := waitPods(t, c, rs, 2)
		for i := range pods {
			markReady(t, c, &pods[i], fmt.Sprintf("10.0.0.%d", i+1))
		}
		waitStatus(t, c, rs, func(r *appsv1.ReplicaSet) bool { return r.Status.ReadyReplicas == 2 })
		// minReadySeconds=1: availability follows without any further pod event.
		waitStatus(t, c, rs, func(r *appsv1.ReplicaSet) bool { return r.Status.AvailableReplicas == 2 })
	})
}
