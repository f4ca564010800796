package serviceaccount_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/serviceaccount"
	"github.com/skiff-dev/skiff/test/poll"
)

func ensured(ctx context.Context, c kubernetes.Interface, ns string, ca []byte) func() error {
	return func() error {
		if _, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err != nil {
			return err
		}
		cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cm.Data["ca.crt"] != string(ca) || len(cm.Data) != 1 || cm.Annotations["kubernetes.io/description"] == "" {
			return fmt.Errorf("configmap %+v", cm)
		}
		return nil
	}
}

func TestDefaultServiceAccountAndRootCA(t *testing.T) {
	ca := []byte("-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n")
	s := controllertest.Start(t, func(mgr manager.Manager) error {
		return (&serviceaccount.Controller{RootCA: ca, SkipNameValidation: true}).SetupWithManager(mgr)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := s.Client
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		poll.Eventually(t, "system namespace "+ns, ensured(ctx, c, ns, ca))
	}
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "new namespace", ensured(ctx, c, "team", ca))

	if err := c.CoreV1().ServiceAccounts("team").Delete(ctx, "default", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cm, err := c.CoreV1().ConfigMaps("team").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data = map[string]string{"ca.crt": "tampered", "extra": "x"}
	if _, err := c.CoreV1().ConfigMaps("team").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "recreated and corrected", ensured(ctx, c, "team", ca))
}
