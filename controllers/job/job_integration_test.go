package job_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/job"
	"github.com/skiff-dev/skiff/controllers/ttlafterfinished"
	"github.com/skiff-dev/skiff/test/poll"
)

func newJob(name string, completions, parallelism int32) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			Completions: ptr.To(completions), Parallelism: ptr.To(parallelism),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}},
		},
	}
}

func activePods(t *testing.T, c kubernetes.Interface, j *batchv1.Job, n int) []corev1.Pod {
	t.Helper()
	var out []corev1.Pod
	poll.Eventually(t, fmt.Sprintf("%d active pods of %s", n, j.Name), func() error {
		list, err := c.CoreV1().Pods(j.Namespace).List(context.Background(), metav1.ListOptions{LabelSelector: job.ControllerUIDLabel + "=" + string(j.UID)})
		if err != nil {
			return err
		}
		out = nil
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				out = append(out, p)
			}
		}
		if len(out) != n {
			return fmt.Errorf("%d active pods", len(out))
		}
		return nil
	})
	return out
}

func finish(t *testing.T, c kubernetes.Interface, p corev1.Pod, phase corev1.PodPhase, code int32) {
	t.Helper()
	poll.Eventually(t, "finish pod "+p.Name, func() error {
		cur, err := c.CoreV1().Pods(p.Namespace).Get(context.Background(), p.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Status.Phase = phase
		cur.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", Image: "busybox", State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: code, FinishedAt: metav1.Now()}}}}
		_, err = c.CoreV1().Pods(p.Namespace).UpdateStatus(context.Background(), cur, metav1.UpdateOptions{})
		return err
	})
}

func waitJob(t *testing.T, c kubernetes.Interface, j *batchv1.Job, ok func(*batchv1.Job) bool) *batchv1.Job {
	t.Helper()
	var got *batchv1.Job
	poll.Eventually(t, "job "+j.Name+" status", func() error {
		var err error
		if got, err = c.BatchV1().Jobs(j.Namespace).Get(context.Background(), j.Name, metav1.GetOptions{}); err != nil {
			return err
		}
		if !ok(got) {
			return fmt.Errorf("status %+v", got.Status)
		}
		return nil
	})
	return got
}

func hasCond(j *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if j.Status.Conditions[i].Type == t && j.Status.Conditions[i].Status == corev1.ConditionTrue {
			return &j.Status.Conditions[i]
		}
	}
	return nil
}

func TestJobController(t *testing.T) {
	s := controllertest.Start(t,
		(&job.Reconciler{Base: controllers.Base{SkipNameValidation: true}, Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}).SetupWithManager,
		(&ttlafterfinished.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager)
	c := s.Client
	ctx := context.Background()
	ns := "jobs"
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	create := func(j *batchv1.Job) *batchv1.Job {
		t.Helper()
		got, err := c.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	t.Run("completions 3 parallelism 2", func(t *testing.T) {
		j := create(newJob("three", 3, 2))
		if j.Spec.Selector.MatchLabels[job.ControllerUIDLabel] != string(j.UID) || j.Spec.Template.Labels[job.JobNameLabel] != "three" ||
			*j.Spec.BackoffLimit != 6 || *j.Spec.CompletionMode != batchv1.NonIndexedCompletion {
			t.Fatalf("generated selector or defaults missing: %+v", j.Spec)
		}
		pods := activePods(t, c, j, 2)
		for _, p := range pods {
			if len(p.Finalizers) != 1 || p.Finalizers[0] != job.TrackingFinalizer || !metav1.IsControlledBy(&p, j) {
				t.Fatalf("pod %s: finalizers %v owners %v", p.Name, p.Finalizers, p.OwnerReferences)
			}
		}
		finish(t, c, pods[0], corev1.PodSucceeded, 0)
		finish(t, c, pods[1], corev1.PodSucceeded, 0)
		last := activePods(t, c, j, 1)
		finish(t, c, last[0], corev1.PodSucceeded, 0)
		got := waitJob(t, c, j, func(j *batchv1.Job) bool { return hasCond(j, batchv1.JobComplete) != nil })
		if got.Status.Succeeded != 3 || got.Status.CompletionTime == nil || hasCond(got, batchv1.JobSuccessCriteriaMet) == nil || got.Status.Active != 0 {
			t.Fatalf("status %+v", got.Status)
		}
		list, _ := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: job.ControllerUIDLabel + "=" + string(j.UID)})
		for _, p := range list.Items {
			if len(p.Finalizers) != 0 {
				t.Errorf("pod %s kept finalizers %v", p.Name, p.Finalizers)
			}
		}
		sel, err := c.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{FieldSelector: "status.successful=3"})
		if err != nil || len(sel.Items) != 1 {
			t.Fatalf("field selector status.successful=3: %v %d", err, len(sel.Items))
		}
	})

	t.Run("adopt orphans, release non-matching pods", func(t *testing.T) {
		j := create(newJob("adopt", 4, 2))
		pod := activePods(t, c, j, 2)[0]
		orphan := func(p *corev1.Pod) { p.OwnerReferences = nil }
		unlabel := func(p *corev1.Pod) { p.Labels = nil }
		update := func(mutate func(*corev1.Pod)) {
			t.Helper()
			poll.Eventually(t, "update pod "+pod.Name, func() error {
				cur, err := c.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				mutate(cur)
				_, err = c.CoreV1().Pods(ns).Update(ctx, cur, metav1.UpdateOptions{})
				return err
			})
		}
		podIs := func(what string, ok func(*corev1.Pod) bool) {
			t.Helper()
			poll.Eventually(t, what, func() error {
				cur, err := c.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				if !ok(cur) {
					return fmt.Errorf("owners %v finalizers %v", cur.OwnerReferences, cur.Finalizers)
				}
				return nil
			})
		}
		update(orphan)
		podIs("the orphan adopted again", func(p *corev1.Pod) bool { return metav1.IsControlledBy(p, j) })
		update(unlabel)
		podIs("the unselected pod released, without the tracking finalizer", func(p *corev1.Pod) bool {
			return metav1.GetControllerOf(p) == nil && len(p.Finalizers) == 0
		})
		activePods(t, c, j, 2) // a replacement for the released pod
		if err := c.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("backoff limit exceeded", func(t *testing.T) {
		j := newJob("fails", 1, 1)
		j.Spec.BackoffLimit = ptr.To[int32](1)
		j = create(j)
		finish(t, c, activePods(t, c, j, 1)[0], corev1.PodFailed, 1)
		finish(t, c, activePods(t, c, j, 1)[0], corev1.PodFailed, 1)
		got := waitJob(t, c, j, func(j *batchv1.Job) bool { return hasCond(j, batchv1.JobFailed) != nil })
		if c := hasCond(got, batchv1.JobFailed); c.Reason != job.ReasonBackoffLimitExceeded || got.Status.Failed != 2 ||
			hasCond(got, batchv1.JobFailureTarget) == nil {
			t.Fatalf("status %+v", got.Status)
		}
	})

	t.Run("indexed", func(t *testing.T) {
		j := newJob("idx", 3, 3)
		j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		j = create(j)
		pods := activePods(t, c, j, 3)
		seen := map[string]bool{}
		for _, p := range pods {
			ix := p.Labels[job.CompletionIndexKey]
			seen[ix] = true
			if p.Annotations[job.CompletionIndexKey] != ix || p.Spec.Hostname != "idx-"+ix || !strings.HasPrefix(p.Name, "idx-"+ix+"-") {
				t.Fatalf("pod %s: index %q hostname %q", p.Name, ix, p.Spec.Hostname)
			}
		}
		if len(seen) != 3 {
			t.Fatalf("indexes %v", seen)
		}
		for _, p := range pods {
			finish(t, c, p, corev1.PodSucceeded, 0)
		}
		got := waitJob(t, c, j, func(j *batchv1.Job) bool { return hasCond(j, batchv1.JobComplete) != nil })
		if got.Status.CompletedIndexes != "0-2" || got.Status.Succeeded != 3 {
			t.Fatalf("status %+v", got.Status)
		}
	})

	t.Run("suspend and deadline", func(t *testing.T) {
		j := newJob("susp", 2, 2)
		j = create(j)
		activePods(t, c, j, 2)
		poll.Eventually(t, "suspend", func() error {
			cur, err := c.BatchV1().Jobs(ns).Get(ctx, j.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Spec.Suspend = ptr.To(true)
			_, err = c.BatchV1().Jobs(ns).Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		got := waitJob(t, c, j, func(j *batchv1.Job) bool { return hasCond(j, batchv1.JobSuspended) != nil && j.Status.Active == 0 })
		if got.Status.Failed != 0 {
			t.Fatalf("suspension counted failures: %+v", got.Status)
		}
		d := newJob("deadline", 1, 1)
		d.Spec.ActiveDeadlineSeconds = ptr.To[int64](1)
		d = create(d)
		got = waitJob(t, c, d, func(j *batchv1.Job) bool { return hasCond(j, batchv1.JobFailed) != nil })
		if hasCond(got, batchv1.JobFailed).Reason != job.ReasonDeadlineExceeded {
			t.Fatalf("status %+v", got.Status)
		}
	})

	t.Run("ttl after finished", func(t *testing.T) {
		j := newJob("ttl", 1, 1)
		j.Spec.TTLSecondsAfterFinished = ptr.To[int32](0)
		j = create(j)
		finish(t, c, activePods(t, c, j, 1)[0], corev1.PodSucceeded, 0)
		// Deleted in the foreground: the garbage collector (not running here) finishes it.
		poll.Eventually(t, "job deleted", func() error {
			cur, err := c.BatchV1().Jobs(ns).Get(ctx, j.Name, metav1.GetOptions{})
			if err == nil && cur.DeletionTimestamp == nil {
				return fmt.Errorf("still there")
			}
			return nil
		})
	})
}
