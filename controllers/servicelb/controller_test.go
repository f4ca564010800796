package servicelb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/servicelb"
	"github.com/skiff-dev/skiff/test/poll"
)

func addNode(t *testing.T, c kubernetes.Interface, name, ip string, ready corev1.ConditionStatus) {
	t.Helper()
	ctx := context.Background()
	n, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: name}}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func lbService(name string, class *string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": name},
			LoadBalancerClass: class, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
}

func ingressIPs(s *corev1.Service) string {
	var out []string
	for _, in := range s.Status.LoadBalancer.Ingress {
		mode := "<nil>"
		if in.IPMode != nil {
			mode = string(*in.IPMode)
		}
		out = append(out, in.IP+"/"+mode)
	}
	return fmt.Sprint(out)
}

func TestLoadBalancerController(t *testing.T) {
	s := controllertest.Start(t, func(mgr manager.Manager) error {
		return (&servicelb.Controller{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager(mgr)
	})
	ctx := context.Background()
	c := s.Client
	addNode(t, c, "node-a", "192.0.2.10", corev1.ConditionTrue)
	addNode(t, c, "node-b", "192.0.2.11", corev1.ConditionFalse)
	svcs := c.CoreV1().Services("default")

	if _, err := svcs.Create(ctx, lbService("web", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	get := func(name string) *corev1.Service {
		v, err := svcs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		return v
	}
	poll.Until(t, 20*time.Second, "the ingress of the Ready node", poll.Check(func() (bool, string) {
		v := get("web")
		return ingressIPs(v) == "[192.0.2.10/VIP]", fmt.Sprintf("ingress %s", ingressIPs(v))
	}))
	if v := get("web"); len(v.Finalizers) != 1 || v.Finalizers[0] != servicelb.Finalizer {
		t.Errorf("finalizers %v, want [%s]", v.Finalizers, servicelb.Finalizer)
	}
	web := get("web")
	poll.Until(t, 20*time.Second, "EnsuringLoadBalancer and EnsuredLoadBalancer events", poll.Check(func() (bool, string) {
		evs, err := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("involvedObject.uid", string(web.UID)).String()})
		if err != nil {
			return false, err.Error()
		}
		seen := map[string]bool{}
		for _, e := range evs.Items {
			if e.Source.Component == servicelb.ControllerName {
				seen[e.Reason] = true
			}
		}
		return seen["EnsuringLoadBalancer"] && seen["EnsuredLoadBalancer"], fmt.Sprintf("events %v", seen)
	}))

	// Another controller's class: left alone.
	class := "example.com/other"
	if _, err := svcs.Create(ctx, lbService("other", &class), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The second node turns Ready: its address joins.
	n, _ := c.CoreV1().Nodes().Get(ctx, "node-b", metav1.GetOptions{})
	n.Status.Conditions[0].Status = corev1.ConditionTrue
	if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 20*time.Second, "both nodes in the ingress", poll.Check(func() (bool, string) {
		v := get("web")
		return ingressIPs(v) == "[192.0.2.10/VIP 192.0.2.11/VIP]", fmt.Sprintf("ingress %s", ingressIPs(v))
	}))
	if v := get("other"); len(v.Finalizers) != 0 || len(v.Status.LoadBalancer.Ingress) != 0 {
		t.Errorf("service with another loadBalancerClass touched: finalizers %v ingress %s", v.Finalizers, ingressIPs(v))
	}

	// Type change to ClusterIP: status cleared and finalizer removed.
	if _, err := svcs.Patch(ctx, "web", types.MergePatchType, []byte(`{"spec":{"type":"ClusterIP"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 20*time.Second, "the load balancer cleaned up", poll.Check(func() (bool, string) {
		v := get("web")
		return len(v.Finalizers) == 0 && len(v.Status.LoadBalancer.Ingress) == 0, fmt.Sprintf("finalizers %v ingress %s", v.Finalizers, ingressIPs(v))
	}))

	// Deleting a LoadBalancer service completes once the controller removed its finalizer.
	if _, err := svcs.Create(ctx, lbService("gone", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 20*time.Second, "gone's ingress", poll.Check(func() (bool, string) { return len(get("gone").Status.LoadBalancer.Ingress) == 2, "" }))
	if err := svcs.Delete(ctx, "gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 20*time.Second, "gone deleted", poll.Check(func() (bool, string) {
		_, err := svcs.Get(ctx, "gone", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprintf("get: %v", err)
	}))
}
