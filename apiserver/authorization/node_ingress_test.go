package authorization_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/test/poll"
)

// Every node runs the ingress controller: it reads Ingresses and IngressClasses, and the TLS
// Secrets that Ingresses name (by name, and listed or watched with a metadata.name field
// selector), no other Secret.
func TestNodeReadsIngressTLSSecrets(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	admin := s.Client
	mustCreateNS(t, admin, "web", "other")
	for _, ns := range []string{"web", "other"} {
		for _, name := range []string{"tls", "private"} {
			sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
			if _, err := admin.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "site"},
		Spec: networkingv1.IngressSpec{TLS: []networkingv1.IngressTLS{{Hosts: []string{"a.example.com"}, SecretName: "tls"}},
			DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}
	if _, err := admin.NetworkingV1().Ingresses("web").Create(ctx, ing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	node := clientFor(t, s, "system:node:node-a", "system:nodes")
	poll.Until(t, cachesTimeout, "the node reads the Ingress's TLS secret", func() error {
		_, err := node.CoreV1().Secrets("web").Get(ctx, "tls", metav1.GetOptions{})
		return err
	})
	byName := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", "tls").String()}
	if _, err := node.CoreV1().Secrets("web").List(ctx, byName); err != nil {
		t.Errorf("listing the TLS secret by name: %v", err)
	}
	w, err := node.CoreV1().Secrets("web").Watch(ctx, byName)
	if err != nil {
		t.Errorf("watching the TLS secret by name: %v", err)
	} else {
		w.Stop()
	}
	for _, tc := range []struct{ ns, name string }{{"web", "private"}, {"other", "tls"}} {
		if _, err := node.CoreV1().Secrets(tc.ns).Get(ctx, tc.name, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("secret %s/%s: %v, want 403", tc.ns, tc.name, err)
		}
	}
	if _, err := node.CoreV1().Secrets("web").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("listing every secret: %v, want 403", err)
	}
	if _, err := node.NetworkingV1().Ingresses("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("listing ingresses: %v", err)
	}
	if _, err := node.NetworkingV1().IngressClasses().List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("listing ingress classes: %v", err)
	}
	if err := node.NetworkingV1().Ingresses("web").Delete(ctx, "site", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("deleting an ingress: %v, want 403", err)
	}
	// Once no Ingress names it, the secret is out of reach again.
	if err := admin.NetworkingV1().Ingresses("web").Delete(ctx, "site", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, cachesTimeout, "the node loses the secret with its Ingress", func() error {
		_, err := node.CoreV1().Secrets("web").Get(ctx, "tls", metav1.GetOptions{})
		if apierrors.IsForbidden(err) {
			return nil
		}
		return fmt.Errorf("still readable (err %v)", err)
	})
}
