package deployment_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/deployment"
	"github.com/skiff-dev/skiff/controllers/replicaset"
	"github.com/skiff-dev/skiff/test/poll"
)

type env struct {
	c *kubernetes.Clientset
	// frozen holds namespaces whose pods the fake kubelet leaves alone.
	frozen sync.Map
}

func start(t *testing.T) *env {
	t.Helper()
	s := controllertest.Start(t,
		(&replicaset.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager,
		(&deployment.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager)
	e := &env{c: s.Client}
	// Marks every pending pod Running and Ready with an IP, outside frozen namespaces.
	controllertest.StartKubelet(t, &controllertest.Kubelet{Client: e.c, Ready: func(p *corev1.Pod) bool {
		_, frozen := e.frozen.Load(p.Namespace)
		return !frozen
	}})
	return e
}

// rolloutTimeout is the deadline of this package's waits: rollouts take longer than
// poll.DefaultTimeout allows.
const rolloutTimeout = 45 * time.Second

func newNS(t *testing.T, c kubernetes.Interface, name string) string {
	t.Helper()
	if _, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

func newDeployment(name string, replicas int32, image string) *appsv1.Deployment {
	l := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: l},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
}

// rolloutStatus is kubectl's DeploymentStatusViewer.Status.
func rolloutStatus(d *appsv1.Deployment) (string, bool, error) {
	if d.Generation <= d.Status.ObservedGeneration {
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
				return "", false, fmt.Errorf("deployment %q exceeded its progress deadline", d.Name)
			}
		}
		if d.Spec.Replicas != nil && d.Status.UpdatedReplicas < *d.Spec.Replicas {
			return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...\n", d.Name, d.Status.UpdatedReplicas, *d.Spec.Replicas), false, nil
		}
		if d.Status.Replicas > d.Status.UpdatedReplicas {
			return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...\n", d.Name, d.Status.Replicas-d.Status.UpdatedReplicas), false, nil
		}
		if d.Status.AvailableReplicas < d.Status.UpdatedReplicas {
			return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...\n", d.Name, d.Status.AvailableReplicas, d.Status.UpdatedReplicas), false, nil
		}
		return fmt.Sprintf("deployment %q successfully rolled out\n", d.Name), true, nil
	}
	return "Waiting for deployment spec update to be observed...\n", false, nil
}

func getD(t *testing.T, c kubernetes.Interface, ns, name string) *appsv1.Deployment {
	t.Helper()
	d, err := c.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// waitRolledOut waits for kubectl rollout status to succeed and for the old ReplicaSets to be
// at zero; it returns the deployment and its new ReplicaSet.
func waitRolledOut(t *testing.T, c kubernetes.Interface, ns, name string) (*appsv1.Deployment, *appsv1.ReplicaSet) {
	t.Helper()
	var d *appsv1.Deployment
	var newRS *appsv1.ReplicaSet
	poll.Until(t, rolloutTimeout, "rollout of "+name, func() error {
		var err error
		if d, err = c.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{}); err != nil {
			return err
		}
		msg, done, err := rolloutStatus(d)
		if err != nil {
			return err
		}
		if !done {
			return fmt.Errorf("%s", msg)
		}
		newRS = nil
		for _, rs := range ownedRSs(t, c, d) {
			if rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey] == deployment.ComputeHash(&d.Spec.Template, d.Status.CollisionCount) {
				newRS = rs
			} else if *rs.Spec.Replicas != 0 || rs.Status.Replicas != 0 {
				return fmt.Errorf("old rs %s at %d/%d", rs.Name, *rs.Spec.Replicas, rs.Status.Replicas)
			}
		}
		if newRS == nil {
			return fmt.Errorf("no new replica set")
		}
		return nil
	})
	return d, newRS
}

func ownedRSs(t *testing.T, c kubernetes.Interface, d *appsv1.Deployment) []*appsv1.ReplicaSet {
	t.Helper()
	list, err := c.AppsV1().ReplicaSets(d.Namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*appsv1.ReplicaSet
	for i := range list.Items {
		if metav1.IsControlledBy(&list.Items[i], d) {
			out = append(out, &list.Items[i])
		}
	}
	return out
}

func condition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) appsv1.DeploymentCondition {
	for _, c := range d.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return appsv1.DeploymentCondition{}
}

func setImage(t *testing.T, c kubernetes.Interface, ns, name, image string) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":%q}]}}}}`, image)
	if _, err := c.AppsV1().Deployments(ns).Patch(context.Background(), name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

func events(t *testing.T, c kubernetes.Interface, ns, reason string) []string {
	t.Helper()
	list, err := c.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.Reason == reason {
			out = append(out, e.Message)
		}
	}
	return out
}

func TestDeploymentIntegration(t *testing.T) {
	e := start(t)
	c := e.c
	ctx := context.Background()

	t.Run("rolling update, revisions, undo", func(t *testing.T) {
		ns := newNS(t, c, "deploy-rolling")
		if _, err := c.AppsV1().Deployments(ns).Create(ctx, newDeployment("web", 3, "nginx:1"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		d, rs1 := waitRolledOut(t, c, ns, "web")
		hash := deployment.ComputeHash(&d.Spec.Template, nil)
		if rs1.Name != "web-"+hash || rs1.Spec.Selector.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] != hash ||
			rs1.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash {
			t.Errorf("rs %s selector %v", rs1.Name, rs1.Spec.Selector)
		}
		if rs1.Annotations[deployment.RevisionAnnotation] != "1" || d.Annotations[deployment.RevisionAnnotation] != "1" ||
			rs1.Annotations[deployment.DesiredReplicasAnnotation] != "3" || rs1.Annotations[deployment.MaxReplicasAnnotation] != "4" {
			t.Errorf("annotations rs %v deployment %v", rs1.Annotations, d.Annotations)
		}
		p := condition(d, appsv1.DeploymentProgressing)
		if p.Reason != "NewReplicaSetAvailable" || p.Message != fmt.Sprintf("ReplicaSet %q has successfully progressed.", rs1.Name) {
			t.Errorf("progressing %+v", p)
		}
		if a := condition(d, appsv1.DeploymentAvailable); a.Status != corev1.ConditionTrue || a.Reason != "MinimumReplicasAvailable" {
			t.Errorf("available %+v", a)
		}
		if d.Status.Replicas != 3 || d.Status.UpdatedReplicas != 3 || d.Status.ReadyReplicas != 3 || d.Status.AvailableReplicas != 3 || d.Status.UnavailableReplicas != 0 {
			t.Errorf("status %+v", d.Status)
		}

		setImage(t, c, ns, "web", "nginx:2")
		d, rs2 := waitRolledOut(t, c, ns, "web")
		if rs2.Name == rs1.Name || rs2.Annotations[deployment.RevisionAnnotation] != "2" || d.Annotations[deployment.RevisionAnnotation] != "2" {
			t.Errorf("after update: rs %s rev %s, deployment rev %s", rs2.Name, rs2.Annotations[deployment.RevisionAnnotation], d.Annotations[deployment.RevisionAnnotation])
		}
		if p := condition(d, appsv1.DeploymentProgressing); p.Message != fmt.Sprintf("ReplicaSet %q has successfully progressed.", rs2.Name) {
			t.Errorf("progressing %+v", p)
		}
		poll.Until(t, rolloutTimeout, "scaling events", func() error {
			evs := strings.Join(events(t, c, ns, "ScalingReplicaSet"), "\n")
			for _, want := range []string{
				fmt.Sprintf("Scaled up replica set %s from 0 to 3", rs1.Name),
				fmt.Sprintf("Scaled up replica set %s from 0 to 1", rs2.Name),
				fmt.Sprintf("Scaled down replica set %s from 3 to", rs1.Name),
			} {
				if !strings.Contains(evs, want) {
					return fmt.Errorf("missing %q in\n%s", want, evs)
				}
			}
			return nil
		})

		// kubectl rollout undo: the template of revision 1, without its hash label.
		old, err := c.AppsV1().ReplicaSets(ns).Get(ctx, rs1.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tmpl := old.Spec.Template.DeepCopy()
		delete(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
		patch, _ := json.Marshal([]map[string]any{{"op": "replace", "path": "/spec/template", "value": tmpl}})
		if _, err := c.AppsV1().Deployments(ns).Patch(ctx, "web", types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		d, rs3 := waitRolledOut(t, c, ns, "web")
		if rs3.Name != rs1.Name || rs3.Annotations[deployment.RevisionAnnotation] != "3" ||
			rs3.Annotations[deployment.RevisionHistoryAnnotation] != "1" || d.Annotations[deployment.RevisionAnnotation] != "3" {
			t.Errorf("after undo: rs %s annotations %v deployment %v", rs3.Name, rs3.Annotations, d.Annotations)
		}
		if d.Spec.Template.Spec.Containers[0].Image != "nginx:1" {
			t.Errorf("template not restored")
		}

		// kubectl scale
		if _, err := c.AppsV1().Deployments(ns).UpdateScale(ctx, "web", &autoscalingv1.Scale{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 5}}, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		d, rs := waitRolledOut(t, c, ns, "web")
		if d.Status.AvailableReplicas != 5 || *rs.Spec.Replicas != 5 || rs.Annotations[deployment.DesiredReplicasAnnotation] != "5" {
			t.Errorf("after scale: %+v, rs %d %v", d.Status, *rs.Spec.Replicas, rs.Annotations)
		}
	})

	t.Run("pause and resume", func(t *testing.T) {
		ns := newNS(t, c, "deploy-pause")
		if _, err := c.AppsV1().Deployments(ns).Create(ctx, newDeployment("p", 2, "nginx:1"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		d, rs1 := waitRolledOut(t, c, ns, "p")
		if _, err := c.AppsV1().Deployments(ns).Patch(ctx, "p", types.MergePatchType, []byte(`{"spec":{"paused":true}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		setImage(t, c, ns, "p", "nginx:2")
		poll.Until(t, rolloutTimeout, "paused condition", func() error {
			d = getD(t, c, ns, "p")
			if p := condition(d, appsv1.DeploymentProgressing); d.Status.ObservedGeneration != d.Generation ||
				p.Reason != "DeploymentPaused" || p.Status != corev1.ConditionUnknown || p.Message != "Deployment is paused" {
				return fmt.Errorf("generation %d observed %d progressing %+v", d.Generation, d.Status.ObservedGeneration, p)
			}
			return nil
		})
		if rss := ownedRSs(t, c, d); len(rss) != 1 || rss[0].Name != rs1.Name {
			t.Fatalf("paused deployment rolled: %d replica sets", len(rss))
		}
		if _, err := c.AppsV1().Deployments(ns).Patch(ctx, "p", types.MergePatchType, []byte(`{"spec":{"paused":false}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		d, rs2 := waitRolledOut(t, c, ns, "p")
		if rs2.Name == rs1.Name || d.Annotations[deployment.RevisionAnnotation] != "2" {
			t.Errorf("resume did not roll out: %s rev %s", rs2.Name, d.Annotations[deployment.RevisionAnnotation])
		}
	})

	t.Run("recreate", func(t *testing.T) {
		ns := newNS(t, c, "deploy-recreate")
		dep := newDeployment("r", 2, "nginx:1")
		dep.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
		if _, err := c.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, rs1 := waitRolledOut(t, c, ns, "r")
		w, err := c.AppsV1().ReplicaSets(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rs1.ResourceVersion})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		setImage(t, c, ns, "r", "nginx:2")
		oldReplicas, oldPods := *rs1.Spec.Replicas, rs1.Status.Replicas
		timeout := time.After(45 * time.Second)
	loop:
		for {
			select {
			case ev := <-w.ResultChan():
				rs, ok := ev.Object.(*appsv1.ReplicaSet)
				if !ok {
					continue
				}
				if rs.Name == rs1.Name {
					oldReplicas, oldPods = *rs.Spec.Replicas, rs.Status.Replicas
					continue
				}
				if ev.Type == watch.Added {
					if oldReplicas != 0 || oldPods != 0 {
						t.Errorf("new replica set created while the old one has %d/%d replicas", oldReplicas, oldPods)
					}
					break loop
				}
			case <-timeout:
				t.Fatal("no new replica set")
			}
		}
		d, rs2 := waitRolledOut(t, c, ns, "r")
		if *rs2.Spec.Replicas != 2 || d.Annotations[deployment.RevisionAnnotation] != "2" {
			t.Errorf("recreate: %d replicas rev %s", *rs2.Spec.Replicas, d.Annotations[deployment.RevisionAnnotation])
		}
	})

	t.Run("revisionHistoryLimit and rollout restart", func(t *testing.T) {
		ns := newNS(t, c, "deploy-history")
		dep := newDeployment("h", 1, "nginx:1")
		dep.Spec.RevisionHistoryLimit = ptr.To[int32](1)
		if _, err := c.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitRolledOut(t, c, ns, "h")
		for i := 2; i <= 4; i++ {
			setImage(t, c, ns, "h", fmt.Sprintf("nginx:%d", i))
			waitRolledOut(t, c, ns, "h")
		}
		// kubectl rollout restart
		patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, time.Now().Format(time.RFC3339))
		if _, err := c.AppsV1().Deployments(ns).Patch(ctx, "h", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		d, rs := waitRolledOut(t, c, ns, "h")
		if rs.Annotations[deployment.RevisionAnnotation] != "5" || rs.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
			t.Errorf("restart: rs %s annotations %v", rs.Name, rs.Annotations)
		}
		poll.Until(t, rolloutTimeout, "history pruned", func() error {
			rss := ownedRSs(t, c, d)
			if len(rss) != 2 {
				return fmt.Errorf("%d replica sets", len(rss))
			}
			return nil
		})
	})

	t.Run("progress deadline", func(t *testing.T) {
		e.frozen.Store("deploy-deadline", true)
		ns := newNS(t, c, "deploy-deadline")
		dep := newDeployment("slow", 1, "nginx:1")
		dep.Spec.ProgressDeadlineSeconds = ptr.To[int32](1)
		if _, err := c.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Until(t, rolloutTimeout, "timed out", func() error {
			d := getD(t, c, ns, "slow")
			if _, _, err := rolloutStatus(d); err == nil {
				return fmt.Errorf("not timed out: %+v", d.Status.Conditions)
			}
			p := condition(d, appsv1.DeploymentProgressing)
			if p.Status != corev1.ConditionFalse || !strings.HasSuffix(p.Message, "has timed out progressing.") {
				return fmt.Errorf("progressing %+v", p)
			}
			if a := condition(d, appsv1.DeploymentAvailable); a.Reason != "MinimumReplicasUnavailable" {
				return fmt.Errorf("available %+v", a)
			}
			return nil
		})
	})
}
