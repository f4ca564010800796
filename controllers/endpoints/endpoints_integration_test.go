package endpoints_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/endpoints"
	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/test/poll"
)

func start(t *testing.T) *kubernetes.Clientset {
	t.Helper()
	return controllertest.Start(t, (&endpoints.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager).Client
}

// runPod creates a pod serving "http" on port and plays scheduler and kubelet for it.
func runPod(t *testing.T, c kubernetes.Interface, ns, name, ip string, port int32, ready bool) {
	t.Helper()
	ctx := context.Background()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port}}}}},
	}
	if _, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name},
		Target: corev1.ObjectReference{Kind: "Node", Name: "node1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	setPodStatus(t, c, ns, name, ip, ready)
}

func setPodStatus(t *testing.T, c kubernetes.Interface, ns, name, ip string, ready bool) {
	t.Helper()
	poll.Eventually(t, "pod status", func() error {
		p, err := c.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		p.Status.Phase = corev1.PodRunning
		p.Status.PodIP = ip
		p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.Now()}}
		_, err = c.CoreV1().Pods(ns).UpdateStatus(context.Background(), p, metav1.UpdateOptions{})
		return err
	})
}

// describe renders Endpoints as "ready: ip:port,... notready: ip:port,..." per subset.
func describe(ep *corev1.Endpoints) string {
	var parts []string
	for _, s := range ep.Subsets {
		var ports []string
		for _, p := range s.Ports {
			ports = append(ports, fmt.Sprintf("%s=%d", p.Name, p.Port))
		}
		var ready, notReady []string
		for _, a := range s.Addresses {
			ready = append(ready, fmt.Sprintf("%s(%s@%s)", a.IP, a.TargetRef.Name, ptr.Deref(a.NodeName, "")))
		}
		for _, a := range s.NotReadyAddresses {
			notReady = append(notReady, fmt.Sprintf("%s(%s@%s)", a.IP, a.TargetRef.Name, ptr.Deref(a.NodeName, "")))
		}
		parts = append(parts, fmt.Sprintf("[%s] ready=%s notready=%s", strings.Join(ports, ","), strings.Join(ready, ","), strings.Join(notReady, ",")))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// describeSlices renders the service's slices' endpoints as sorted "ip:port ready/serving/terminating".
func describeSlices(t *testing.T, c kubernetes.Interface, ns, svc string) (string, []discoveryv1.EndpointSlice) {
	t.Helper()
	list, err := c.DiscoveryV1().EndpointSlices(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + svc})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range list.Items {
		port := int32(0)
		if len(s.Ports) > 0 {
			port = *s.Ports[0].Port
		}
		for _, e := range s.Endpoints {
			out = append(out, fmt.Sprintf("%s:%d %v/%v/%v", e.Addresses[0], port, *e.Conditions.Ready, *e.Conditions.Serving, *e.Conditions.Terminating))
		}
	}
	sort.Strings(out)
	return strings.Join(out, " "), list.Items
}

func TestEndpointsIntegration(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	ns := "ep"
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
	}
	svc, err := c.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	expect := func(wantEP, wantSlices string) {
		t.Helper()
		poll.Eventually(t, "endpoints", func() error {
			ep, err := c.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if got := describe(ep); got != wantEP {
				return fmt.Errorf("endpoints %q, want %q", got, wantEP)
			}
			if ep.Labels["team"] != "a" {
				return fmt.Errorf("endpoints labels %v", ep.Labels)
			}
			got, slices := describeSlices(t, c, ns, "web")
			if got != wantSlices {
				return fmt.Errorf("slices %q, want %q", got, wantSlices)
			}
			for _, s := range slices {
				if s.Labels[discoveryv1.LabelManagedBy] != "endpointslice-controller.k8s.io" || !metav1.IsControlledBy(&s, svc) ||
					s.AddressType != discoveryv1.AddressTypeIPv4 || !strings.HasPrefix(s.Name, "web-") || s.Labels["team"] != "a" {
					return fmt.Errorf("slice %s meta %+v", s.Name, s.ObjectMeta)
				}
				if _, err := time.Parse(time.RFC3339Nano, s.Annotations[corev1.EndpointsLastChangeTriggerTime]); err != nil {
					return fmt.Errorf("slice %s last-change-trigger-time: %w", s.Name, err)
				}
			}
			return nil
		})
	}

	// A placeholder slice and an empty Endpoints object before any pod.
	expect("", "")
	// The Endpoints object and the placeholder slice are written separately:
	// wait for the slice rather than reading it once.
	poll.Eventually(t, "placeholder slice", func() error {
		if _, slices := describeSlices(t, c, ns, "web"); len(slices) != 1 {
			return fmt.Errorf("%d placeholder slices", len(slices))
		}
		return nil
	})

	runPod(t, c, ns, "a", "10.0.0.1", 8080, true)
	runPod(t, c, ns, "b", "10.0.0.2", 9090, false)
	expect("[http=8080] ready=10.0.0.1(a@node1) notready= [http=9090] ready= notready=10.0.0.2(b@node1)",
		"10.0.0.1:8080 true/true/false 10.0.0.2:9090 false/false/false")

	setPodStatus(t, c, ns, "b", "10.0.0.2", true)
	setPodStatus(t, c, ns, "a", "10.0.0.1", false)
	expect("[http=8080] ready= notready=10.0.0.1(a@node1) [http=9090] ready=10.0.0.2(b@node1) notready=",
		"10.0.0.1:8080 false/false/false 10.0.0.2:9090 true/true/false")

	// Stable: an irrelevant pod change rewrites nothing.
	rvs := func() string {
		ep, err := c.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, slices := describeSlices(t, c, ns, "web")
		out := ep.ResourceVersion
		for _, s := range slices {
			out += "," + s.Name + "=" + s.ResourceVersion
		}
		return out
	}
	before := rvs()
	if _, err := c.CoreV1().Pods(ns).Patch(ctx, "a", types.MergePatchType, []byte(`{"metadata":{"annotations":{"touched":"yes"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if after := rvs(); after != before {
			t.Fatalf("rewritten without a change: %s -> %s", before, after)
		}
	}
	// Terminating (graceful delete of a bound pod): gone from Endpoints, terminating in slices.
	if err := c.CoreV1().Pods(ns).Delete(ctx, "b", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](30)}); err != nil {
		t.Fatal(err)
	}
	expect("[http=8080] ready= notready=10.0.0.1(a@node1)",
		"10.0.0.1:8080 false/false/false 10.0.0.2:9090 false/true/true")
	if err := c.CoreV1().Pods(ns).Delete(ctx, "b", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	expect("[http=8080] ready= notready=10.0.0.1(a@node1)", "10.0.0.1:8080 false/false/false")

	// Relabeling a pod out of the selector removes it.
	poll.Eventually(t, "relabel", func() error {
		p, err := c.CoreV1().Pods(ns).Get(ctx, "a", metav1.GetOptions{})
		if err != nil {
			return err
		}
		p.Labels = map[string]string{"app": "other"}
		_, err = c.CoreV1().Pods(ns).Update(ctx, p, metav1.UpdateOptions{})
		return err
	})
	expect("", "")

	// Over 100 endpoints are split over slices.
	for i := 0; i < 120; i++ {
		runPod(t, c, ns, fmt.Sprintf("m%03d", i), fmt.Sprintf("10.1.0.%d", i+1), 8080, true)
	}
	poll.Eventually(t, "two slices", func() error {
		got, slices := describeSlices(t, c, ns, "web")
		if n := strings.Count(got, "true/true/false"); n != 120 || len(slices) != 2 {
			return fmt.Errorf("%d ready endpoints in %d slices", n, len(slices))
		}
		for _, s := range slices {
			if len(s.Endpoints) > 100 {
				return fmt.Errorf("slice with %d endpoints", len(s.Endpoints))
			}
		}
		return nil
	})

	// Deleting the service removes its Endpoints.
	if err := c.CoreV1().Services(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "endpoints deleted", func() error {
		if _, err := c.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{}); err == nil {
			return fmt.Errorf("still there")
		}
		return nil
	})
}

func TestSelectorlessServiceLeftAlone(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 443}}}}
	if _, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "ext"},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "192.168.1.1"}}, Ports: []corev1.EndpointPort{{Port: 443}}}}}
	if _, err := c.CoreV1().Endpoints("default").Create(ctx, ep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A selector service created afterwards proves the controller has run.
	sel := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "sel"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"x": "y"}, Ports: []corev1.ServicePort{{Port: 80}}}}
	if _, err := c.CoreV1().Services("default").Create(ctx, sel, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "sel endpoints", func() error {
		_, err := c.CoreV1().Endpoints("default").Get(ctx, "sel", metav1.GetOptions{})
		return err
	})
	got, err := c.CoreV1().Endpoints("default").Get(ctx, "ext", metav1.GetOptions{})
	if err != nil || len(got.Subsets) != 1 || got.Subsets[0].Addresses[0].IP != "192.168.1.1" {
		t.Errorf("selectorless endpoints changed: %+v %v", got, err)
	}
	slices, _ := c.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=ext"})
	if len(slices.Items) != 0 {
		t.Errorf("slices made for a selectorless service")
	}
}

// A pod's trace holds the endpoints controller's part: the watch events of the pod, and the
// slice writes that added it and made it ready, each under the Service's reconcile and naming
// the pod (skiff.related_uids).
func TestEndpointsTraced(t *testing.T) {
	store := controllertest.Tracing(t)
	c := start(t)
	ctx := context.Background()
	ns := "traced"
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}}}
	if _, err := c.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	runPod(t, c, ns, "web-1", "10.0.0.1", 8080, false)
	poll.Eventually(t, "not-ready endpoint", func() error {
		if got, _ := describeSlices(t, c, ns, "web"); got != "10.0.0.1:8080 false/false/false" {
			return fmt.Errorf("slices %q", got)
		}
		return nil
	})
	setPodStatus(t, c, ns, "web-1", "10.0.0.1", true)
	pod, err := c.CoreV1().Pods(ns).Get(ctx, "web-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "the pod's endpoints spans", func() error {
		spans := store.Query([]string{string(pod.UID)}, nil)
		byID := map[string]trace.Span{}
		for _, sp := range spans {
			byID[sp.SpanID] = sp
		}
		var writes []string
		watched := false
		for _, sp := range spans {
			if sp.Component != trace.Controller("endpoints") {
				continue
			}
			if sp.Name == "watch Pod event" && sp.Caller == trace.ComponentAPIServer && sp.Attributes[trace.AttrUID] == string(pod.UID) {
				watched = true
			}
			if sp.Attributes[trace.AttrRelatedUIDs] != string(pod.UID) {
				continue
			}
			if parent := byID[sp.ParentSpanID]; parent.Name != "reconcile Service" || parent.Attributes[trace.AttrName] != "web" {
				return fmt.Errorf("slice write %q under %q, not the Service's reconcile", sp.Name, parent.Name)
			}
			verb, rest, _ := strings.Cut(sp.Name, " EndpointSlice web-")
			_, change, _ := strings.Cut(rest, ": ")
			writes = append(writes, verb+": "+change)
		}
		want := "[create: web-1 added (not ready) update: web-1 ready]"
		if !watched || fmt.Sprint(writes) != want {
			return fmt.Errorf("watch event seen %v, slice writes %q, want %s", watched, writes, want)
		}
		return nil
	})
}
