package admission_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/test/poll"
)

// warnings collects the Warning headers of responses, as kubectl prints them.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}

func privilegedPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox",
			SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}}},
	}
}

func TestPodSecurity(t *testing.T) {
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	s := apiservertest.StartWith(t, func(o *apiserver.Options) {
		o.Hardening.AuditLogPath = auditLog
		o.DisableServiceAccountAdmission = true
	})
	ctx := context.Background()
	w := &warnings{}
	cfg := rest.CopyConfig(s.Config)
	cfg.WarningHandler = w
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	labelled := func(name string, labels map[string]string) {
		t.Helper()
		if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	labelled("psa-restricted", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	labelled("psa-warn", map[string]string{"pod-security.kubernetes.io/warn": "baseline", "pod-security.kubernetes.io/audit": "baseline"})
	labelled("psa-none", nil)
	w.take()

	t.Run("enforce=restricted refuses a privileged pod with upstream's message", func(t *testing.T) {
		_, err := c.CoreV1().Pods("psa-restricted").Create(ctx, privilegedPod("x"), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("want Forbidden, got %v", err)
		}
		for _, want := range []string{
			`pods "x" is forbidden: violates PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true)`,
			`allowPrivilegeEscalation != false`, `runAsNonRoot != true`, `seccompProfile`,
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message %q lacks %q", err.Error(), want)
			}
		}
	})
	t.Run("warn=baseline admits with a warning", func(t *testing.T) {
		if _, err := c.CoreV1().Pods("psa-warn").Create(ctx, privilegedPod("x"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got := w.take()
		want := `would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)`
		if len(got) != 1 || !strings.Contains(got[0], want) {
			t.Errorf("warnings %q, want one with %q", got, want)
		}
	})
	t.Run("audit=baseline adds audit annotations", func(t *testing.T) {
		poll.Eventually(t, "the audit annotation in the audit log", func() error {
			data, err := os.ReadFile(auditLog)
			if err != nil {
				return err
			}
			for _, line := range strings.Split(string(data), "\n") {
				if strings.Contains(line, `"/api/v1/namespaces/psa-warn/pods"`) &&
					strings.Contains(line, `"pod-security.kubernetes.io/audit-violations":"would violate PodSecurity \"baseline:latest\": privileged`) {
					return nil
				}
			}
			return fmt.Errorf("no pod creation in psa-warn with the audit annotation")
		})
	})
	t.Run("an unlabelled namespace admits it silently", func(t *testing.T) {
		if _, err := c.CoreV1().Pods("psa-none").Create(ctx, privilegedPod("x"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := w.take(); len(got) != 0 {
			t.Errorf("warnings %q", got)
		}
	})
	t.Run("a workload's pod template gets a warning, not a refusal", func(t *testing.T) {
		labels := map[string]string{"app": "priv"}
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "priv"}, Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: privilegedPod("").Spec}}}
		if _, err := c.AppsV1().Deployments("psa-restricted").Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got := w.take()
		if len(got) != 1 || !strings.Contains(got[0], `would violate PodSecurity "restricted:latest": privileged`) {
			t.Errorf("warnings %q", got)
		}
	})
	t.Run("labelling a namespace warns about its existing pods", func(t *testing.T) {
		// The server's pod cache may not hold the pod yet: toggle the level until it warns.
		levels := []string{"baseline", "restricted"}
		i := 0
		want := `existing pods in namespace "psa-none" violate the new PodSecurity enforce level`
		poll.Eventually(t, "a warning about the existing privileged pod", func() error {
			ns, err := c.CoreV1().Namespaces().Get(ctx, "psa-none", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if ns.Labels == nil {
				ns.Labels = map[string]string{}
			}
			ns.Labels["pod-security.kubernetes.io/enforce"] = levels[i%2]
			i++
			w.take()
			if _, err := c.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
				return err
			}
			got := strings.Join(w.take(), "\n")
			if !strings.Contains(got, want) || !strings.Contains(got, "x: privileged") {
				return fmt.Errorf("warnings %q", got)
			}
			return nil
		})
	})
	t.Run("an invalid level is refused", func(t *testing.T) {
		_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "psa-bad",
			Labels: map[string]string{"pod-security.kubernetes.io/enforce": "strict"}}}, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict"`) {
			t.Errorf("want 422 about the label, got %v", err)
		}
	})
}

func TestPodSecurityDisabled(t *testing.T) {
	s := apiservertest.StartWith(t, func(o *apiserver.Options) {
		o.DisablePodSecurityAdmission = true
		o.DisableServiceAccountAdmission = true
	})
	ctx := context.Background()
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "psa-off",
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.CoreV1().Pods("psa-off").Create(ctx, privilegedPod("x"), metav1.CreateOptions{}); err != nil {
		t.Errorf("with PodSecurity off a privileged pod is admitted: %v", err)
	}
}
