package ingress_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/ingress"
	"github.com/skiff-dev/skiff/test/poll"
)

func addNode(t *testing.T, c kubernetes.Interface, name, ip string, serving bool) {
	t.Helper()
	ctx := context.Background()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if serving {
		n.Annotations = map[string]string{helper.AnnIngressPorts: "http=80,https=443"}
	}
	n, err := c.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func newIngress(name string, class *string) *networkingv1.Ingress {
	return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: networkingv1.IngressSpec{
		IngressClassName: class,
		DefaultBackend:   &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}
}

func TestIngressStatus(t *testing.T) {
	s := controllertest.Start(t, func(mgr manager.Manager) error {
		return (&ingress.Controller{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager(mgr)
	})
	ctx := context.Background()
	c := s.Client
	for _, cl := range []*networkingv1.IngressClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "ours"}, Spec: networkingv1.IngressClassSpec{Controller: helper.IngressController}},
		{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Spec: networkingv1.IngressClassSpec{Controller: "example.com/other"}},
	} {
		if _, err := c.NetworkingV1().IngressClasses().Create(ctx, cl, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	addNode(t, c, "node-b", "192.0.2.11", true)
	addNode(t, c, "node-a", "192.0.2.10", true)
	addNode(t, c, "node-c", "192.0.2.12", false)
	ings := c.NetworkingV1().Ingresses("default")
	for _, ing := range []*networkingv1.Ingress{newIngress("served", ptr.To("ours")), newIngress("foreign", ptr.To("other"))} {
		if _, err := ings.Create(ctx, ing, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ips := func(name string) string {
		ing, err := ings.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		var out []string
		for _, in := range ing.Status.LoadBalancer.Ingress {
			out = append(out, in.IP)
		}
		return fmt.Sprint(out)
	}
	poll.Eventually(t, "the serving nodes' addresses", poll.Check(func() (bool, string) {
		got := ips("served")
		return got == "[192.0.2.10 192.0.2.11]", "status " + got
	}))
	// node-b stops serving (no more annotation): its address goes.
	patch := []byte(`{"metadata":{"annotations":{"` + helper.AnnIngressPorts + `":null}}}`)
	if _, err := c.CoreV1().Nodes().Patch(ctx, "node-b", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "node-b's address goes", poll.Check(func() (bool, string) {
		got := ips("served")
		return got == "[192.0.2.10]", "status " + got
	}))
	// An Ingress moved to our class gets the status too; another controller's is left alone.
	patch = []byte(`{"spec":{"ingressClassName":"ours"}}`)
	if _, err := ings.Patch(ctx, "foreign", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "the moved Ingress's status", poll.Check(func() (bool, string) {
		got := ips("foreign")
		return got == "[192.0.2.10]", "status " + got
	}))
	other := newIngress("untouched", ptr.To("other"))
	if _, err := ings.Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A served Ingress created after it is written proves the other one was seen.
	if _, err := ings.Create(ctx, newIngress("marker", ptr.To("ours")), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "the marker's status", poll.Check(func() (bool, string) {
		got := ips("marker")
		return got == "[192.0.2.10]", "status " + got
	}))
	if got := ips("untouched"); got != "[]" {
		t.Errorf("another controller's Ingress got status %s", got)
	}
	// No churn: a status already right is not rewritten.
	before, err := ings.Get(ctx, "served", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Nodes().Patch(ctx, "node-a", types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ings.Create(ctx, newIngress("marker2", ptr.To("ours")), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "the second marker's status", poll.Check(func() (bool, string) {
		got := ips("marker2")
		return got == "[192.0.2.10]", "status " + got
	}))
	after, err := ings.Get(ctx, "served", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion {
		t.Errorf("the served Ingress was rewritten: resourceVersion %s -> %s", before.ResourceVersion, after.ResourceVersion)
	}
}
