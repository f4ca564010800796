package admission_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/test/poll"
)

func TestPriority(t *testing.T) {
	s := apiservertest.Start(t)
	c := s.Client
	ctx := context.Background()
	newNamespace(t, c, "prio")
	create := func(name, class string, mutate ...func(*corev1.Pod)) (*corev1.Pod, error) {
		p := pod(name, corev1.ResourceRequirements{})
		p.Spec.PriorityClassName = class
		for _, m := range mutate {
			m(p)
		}
		return c.CoreV1().Pods("prio").Create(ctx, p, metav1.CreateOptions{})
	}

	t.Run("built-in classes exist and cannot be deleted", func(t *testing.T) {
		for name, value := range map[string]int32{"system-cluster-critical": 2000000000, "system-node-critical": 2000001000} {
			pc, err := c.SchedulingV1().PriorityClasses().Get(ctx, name, metav1.GetOptions{})
			if err != nil || pc.Value != value {
				t.Fatalf("%s: %v, %v", name, pc, err)
			}
			err = c.SchedulingV1().PriorityClasses().Delete(ctx, name, metav1.DeleteOptions{})
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "system priority class") {
				t.Errorf("deleting %s: %v", name, err)
			}
		}
	})
	t.Run("no class: priority 0", func(t *testing.T) {
		p, err := create("plain", "")
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.Priority == nil || *p.Spec.Priority != 0 || p.Spec.PreemptionPolicy == nil || *p.Spec.PreemptionPolicy != corev1.PreemptLowerPriority {
			t.Errorf("priority %v, policy %v", p.Spec.Priority, p.Spec.PreemptionPolicy)
		}
	})
	t.Run("a class sets priority and policy", func(t *testing.T) {
		if _, err := c.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "batch-low"},
			Value: 10, PreemptionPolicy: ptr.To(corev1.PreemptNever)}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p, err := create("low", "batch-low")
		if err != nil {
			t.Fatal(err)
		}
		if *p.Spec.Priority != 10 || *p.Spec.PreemptionPolicy != corev1.PreemptNever {
			t.Errorf("priority %v, policy %v", *p.Spec.Priority, *p.Spec.PreemptionPolicy)
		}
		p, err = create("critical", "system-cluster-critical")
		if err != nil || *p.Spec.Priority != 2000000000 {
			t.Fatalf("critical: %v, %v", p, err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		_, err := create("unknown", "nope")
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "no PriorityClass with name nope was found") {
			t.Errorf("unknown class: %v", err)
		}
		_, err = create("mismatch", "batch-low", func(p *corev1.Pod) { p.Spec.Priority = ptr.To[int32](5) })
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "must not be provided in pod spec") {
			t.Errorf("given priority: %v", err)
		}
		_, err = c.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Value: 2000000001}, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) {
			t.Errorf("value above the user range: %v", err)
		}
	})
	t.Run("one global default", func(t *testing.T) {
		if _, err := c.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "default"},
			Value: 100, GlobalDefault: true}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// The admission's informer sees the first default shortly (dry runs until then: a second
		// default must not be stored).
		second := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "default2"}, Value: 200, GlobalDefault: true}
		poll.Eventually(t, "a second default refused", func() error {
			_, err := c.SchedulingV1().PriorityClasses().Create(ctx, second, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if !apierrors.IsForbidden(err) {
				return fmt.Errorf("dry-run create of a second default: %v", err)
			}
			return nil
		})
		_, err := c.SchedulingV1().PriorityClasses().Create(ctx, second, metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "PriorityClass default is already marked as default") {
			t.Errorf("second default: %v", err)
		}
		// The admission's informer sees the new default shortly: pods created before get none.
		var p *corev1.Pod
		n := 0
		poll.Eventually(t, "a pod with the default class", func() error {
			n++
			var err error
			if p, err = create(fmt.Sprintf("defaulted-%d", n), ""); err != nil {
				return err
			}
			if p.Spec.PriorityClassName != "default" {
				return fmt.Errorf("class %q", p.Spec.PriorityClassName)
			}
			return nil
		})
		if p.Spec.PriorityClassName != "default" || *p.Spec.Priority != 100 {
			t.Errorf("class %q priority %d", p.Spec.PriorityClassName, *p.Spec.Priority)
		}
	})
}
