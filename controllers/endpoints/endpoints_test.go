package endpoints

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

type podOpt func(*corev1.Pod)

func pod(name, ip string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: "node1", Containers: []corev1.Container{{Name: "c",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
	if ip != "" {
		p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func notReady(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }
func terminating(p *corev1.Pod) {
	p.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
}
func httpPort(n int32) podOpt {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = n }
}

func service(opts ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "svc-uid", Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, ClusterIP: "10.96.0.10",
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}}},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func addr(p *corev1.Pod) corev1.EndpointAddress {
	return corev1.EndpointAddress{IP: p.Status.PodIP, NodeName: ptr.To("node1"),
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: p.Name, UID: p.UID}}
}

func TestComputeSubsets(t *testing.T) {
	httpOn := func(n int32) []corev1.EndpointPort {
		return []corev1.EndpointPort{{Name: "http", Port: n, Protocol: corev1.ProtocolTCP}}
	}
	a, b := pod("a", "10.0.0.1"), pod("b", "10.0.0.2", notReady)
	c := pod("c", "10.0.0.3", httpPort(9090))
	noIP := pod("d", "")
	term := pod("e", "10.0.0.5", terminating)
	failed := pod("f", "10.0.0.6", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed })
	noPort := pod("g", "10.0.0.7", func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil })
	cases := []struct {
		name string
		svc  *corev1.Service
		pods []*corev1.Pod
		want []corev1.EndpointSubset
	}{
		{"ready and not ready", service(), []*corev1.Pod{b, a},
			[]corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr(a)}, NotReadyAddresses: []corev1.EndpointAddress{addr(b)}, Ports: httpOn(8080)}}},
		{"named port resolved per pod", service(), []*corev1.Pod{a, c},
			[]corev1.EndpointSubset{
				{Addresses: []corev1.EndpointAddress{addr(a)}, Ports: httpOn(8080)},
				{Addresses: []corev1.EndpointAddress{addr(c)}, Ports: httpOn(9090)}}},
		{"no IP, terminating, terminal, unresolvable port are skipped", service(), []*corev1.Pod{noIP, term, failed, noPort, a},
			[]corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr(a)}, Ports: httpOn(8080)}}},
		{"publishNotReadyAddresses", service(func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }), []*corev1.Pod{b, term},
			[]corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr(b), addr(term)}, Ports: httpOn(8080)}}},
		{"numeric target port", service(func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(7000) }), []*corev1.Pod{a, c},
			[]corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr(a), addr(c)}, Ports: httpOn(7000)}}},
		{"headless without ports", service(func(s *corev1.Service) { s.Spec.ClusterIP = "None"; s.Spec.Ports = nil }), []*corev1.Pod{a},
			[]corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr(a)}}}},
		{"no pods", service(), nil, []corev1.EndpointSubset{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, truncated := ComputeSubsets(tc.svc, tc.pods)
			if truncated || !apiequality.Semantic.DeepEqual(normalize(got), normalize(tc.want)) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestHostnameAndLabels(t *testing.T) {
	svc := service(func(s *corev1.Service) { s.Spec.ClusterIP = "None" })
	p := pod("a", "10.0.0.1", func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "h", "web" })
	got, _ := ComputeSubsets(svc, []*corev1.Pod{p})
	if got[0].Addresses[0].Hostname != "h" {
		t.Errorf("hostname %q", got[0].Addresses[0].Hostname)
	}
	if l := EndpointsLabels(svc); l["team"] != "a" || l[LabelHeadless] != "" || len(l) != 2 {
		t.Errorf("labels %v", l)
	}
	if l := SliceLabels(service()); l[LabelServiceName] != "web" || l[LabelManagedBy] != ManagedByValue || len(l) != 3 {
		t.Errorf("slice labels %v", l)
	}
}

func TestComputeSliceEndpoints(t *testing.T) {
	cases := []struct {
		name                        string
		svc                         *corev1.Service
		pod                         *corev1.Pod
		ready, serving, terminating bool
	}{
		{"ready", service(), pod("a", "10.0.0.1"), true, true, false},
		{"not ready", service(), pod("a", "10.0.0.1", notReady), false, false, false},
		{"terminating ready pod", service(), pod("a", "10.0.0.1", terminating), false, true, true},
		{"publishNotReady", service(func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }), pod("a", "10.0.0.1", notReady), true, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eps := ComputeSliceEndpoints(tc.svc, []*corev1.Pod{tc.pod}, discoveryv1.AddressTypeIPv4)
			if len(eps) != 1 {
				t.Fatalf("%d endpoints", len(eps))
			}
			c := eps[0].Endpoint.Conditions
			if *c.Ready != tc.ready || *c.Serving != tc.serving || *c.Terminating != tc.terminating {
				t.Errorf("conditions ready=%v serving=%v terminating=%v", *c.Ready, *c.Serving, *c.Terminating)
			}
			if eps[0].Endpoint.TargetRef.Name != "a" || *eps[0].Endpoint.NodeName != "node1" || *eps[0].Ports[0].Port != 8080 || *eps[0].Ports[0].Name != "http" {
				t.Errorf("endpoint %+v ports %+v", eps[0].Endpoint, eps[0].Ports)
			}
		})
	}
	if eps := ComputeSliceEndpoints(service(), []*corev1.Pod{pod("a", "10.0.0.1")}, discoveryv1.AddressTypeIPv6); len(eps) != 0 {
		t.Errorf("IPv4 pod in an IPv6 slice")
	}
}

func TestFindPort(t *testing.T) {
	p := pod("a", "10.0.0.1", func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{{Name: "side", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
			Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9100, Protocol: corev1.ProtocolTCP}}}}
	})
	cases := []struct {
		port corev1.ServicePort
		want int32
		err  bool
	}{
		{corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}, 8080, false},
		{corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("http")}, 0, true},
		{corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("metrics")}, 9100, false},
		{corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("nope")}, 0, true},
		{corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(81)}, 81, false},
		{corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP}, 80, false},
	}
	for _, tc := range cases {
		got, err := FindPort(p, &tc.port)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("%+v: got %d, %v", tc.port, got, err)
		}
	}
}

func desiredN(svc *corev1.Service, n int, opts ...podOpt) []SliceEndpoint {
	var pods []*corev1.Pod
	for i := 0; i < n; i++ {
		pods = append(pods, pod(fmt.Sprintf("p%03d", i), fmt.Sprintf("10.0.%d.%d", i/200, i%200+1), opts...))
	}
	return ComputeSliceEndpoints(svc, pods, discoveryv1.AddressTypeIPv4)
}

// apply applies a plan to a fake store, naming created slices.
func apply(existing []*discoveryv1.EndpointSlice, p SlicePlan, next *int) []*discoveryv1.EndpointSlice {
	byName := map[string]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		byName[s.Name] = s
	}
	for _, s := range p.Delete {
		delete(byName, s.Name)
	}
	for _, s := range p.Update {
		byName[s.Name] = s
	}
	for _, s := range p.Create {
		*next++
		s = s.DeepCopy()
		s.Name = fmt.Sprintf("%s%d", s.GenerateName, *next)
		byName[s.Name] = s
	}
	var out []*discoveryv1.EndpointSlice
	for _, s := range byName {
		out = append(out, s)
	}
	return out
}

func TestPlanSlices(t *testing.T) {
	svc := service()
	at := discoveryv1.AddressTypeIPv4
	next := 0
	count := func(slices []*discoveryv1.EndpointSlice) (n int, sizes map[int]int) {
		sizes = map[int]int{}
		for _, s := range slices {
			n += len(s.Endpoints)
			sizes[len(s.Endpoints)]++
			if s.Labels[LabelServiceName] != "web" || s.Labels[LabelManagedBy] != ManagedByValue || !metav1.IsControlledBy(s, svc) || s.AddressType != at || s.GenerateName != "web-" {
				t.Errorf("slice meta %+v", s.ObjectMeta)
			}
		}
		return n, sizes
	}

	// 250 endpoints: 100 + 100 + 50.
	p := PlanSlices(svc, at, nil, desiredN(svc, 250), 100)
	if len(p.Create) != 3 || len(p.Update)+len(p.Delete) != 0 {
		t.Fatalf("plan %d/%d/%d", len(p.Create), len(p.Update), len(p.Delete))
	}
	slices := apply(nil, p, &next)
	if n, sizes := count(slices); n != 250 || sizes[100] != 2 || sizes[50] != 1 {
		t.Fatalf("n=%d sizes=%v", n, sizes)
	}

	// Unchanged: nothing to do.
	if p := PlanSlices(svc, at, slices, desiredN(svc, 250), 100); len(p.Create)+len(p.Update)+len(p.Delete) != 0 {
		t.Fatalf("no-op plan: %d/%d/%d", len(p.Create), len(p.Update), len(p.Delete))
	}

	// A readiness change updates exactly the slice holding the endpoint.
	d := desiredN(svc, 250)
	d[7].Endpoint.Conditions.Ready = ptr.To(false)
	p = PlanSlices(svc, at, slices, d, 100)
	if len(p.Update) != 1 || len(p.Create)+len(p.Delete) != 0 {
		t.Fatalf("readiness plan %d/%d/%d", len(p.Create), len(p.Update), len(p.Delete))
	}
	slices = apply(slices, p, &next)

	// Growing to 260 fills the half-empty slice rather than creating one.
	p = PlanSlices(svc, at, slices, desiredN(svc, 260), 100)
	if len(p.Create) != 0 || len(p.Update) < 1 || len(p.Delete) != 0 {
		t.Fatalf("grow plan %d/%d/%d", len(p.Create), len(p.Update), len(p.Delete))
	}
	slices = apply(slices, p, &next)
	if n, _ := count(slices); n != 260 {
		t.Fatalf("n=%d", n)
	}

	// Shrinking to 30 empties two slices, which are deleted.
	p = PlanSlices(svc, at, slices, desiredN(svc, 30), 100)
	slices = apply(slices, p, &next)
	if n, _ := count(slices); n != 30 || len(slices) > 2 {
		t.Fatalf("shrink: n=%d slices=%d", n, len(slices))
	}

	// A port change moves endpoints to a slice with the new ports.
	p = PlanSlices(svc, at, slices, desiredN(svc, 30, httpPort(9999)), 100)
	slices = apply(slices, p, &next)
	if n, _ := count(slices); n != 30 || len(slices) != 1 || *slices[0].Ports[0].Port != 9999 {
		t.Fatalf("ports: n=%d slices=%d", n, len(slices))
	}

	// No endpoints: one empty placeholder remains.
	p = PlanSlices(svc, at, slices, nil, 100)
	slices = apply(slices, p, &next)
	if len(slices) != 1 || len(slices[0].Endpoints) != 0 || len(slices[0].Ports) != 0 {
		t.Fatalf("placeholder: %d slices", len(slices))
	}
	if p := PlanSlices(svc, at, slices, nil, 100); len(p.Create)+len(p.Update)+len(p.Delete) != 0 {
		t.Fatalf("placeholder not stable")
	}
	if p := PlanSlices(svc, at, nil, nil, 100); len(p.Create) != 1 {
		t.Fatalf("no placeholder created")
	}
}
