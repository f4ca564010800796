package service_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
)

func svcOf(name string, typ corev1.ServiceType, ports ...corev1.ServicePort) *corev1.Service {
	if len(ports) == 0 {
		ports = []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}
	}
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Type: typ, Selector: map[string]string{"app": name}, Ports: ports}}
}

func inRange(p int32) bool { return p >= 30000 && p <= 32767 }

// TestNodePortAllocation drives NodePort allocation through the real API server: upstream's 422
// messages for taken and out-of-range ports, automatic ports, release on delete and type
// change, kept ports on updates, the health-check port, dry-run, and restarts.
func TestNodePortAllocation(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	svcs := s.Client.CoreV1().Services("default")

	first, err := svcs.Create(ctx, func() *corev1.Service {
		v := svcOf("first", corev1.ServiceTypeNodePort)
		v.Spec.Ports[0].NodePort = 30080
		return v
	}(), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a NodePort service with nodePort 30080: %v", err)
	}
	if first.Spec.Ports[0].NodePort != 30080 {
		t.Fatalf("nodePort = %d, want 30080", first.Spec.Ports[0].NodePort)
	}

	boolPtr := func(b bool) *bool { return &b }
	cases := []struct {
		name    string
		svc     *corev1.Service
		dryRun  bool
		wantErr string // substring of the 422 message; empty: created
		check   func(t *testing.T, got *corev1.Service)
	}{
		{name: "taken port", svc: func() *corev1.Service {
			v := svcOf("taken", corev1.ServiceTypeNodePort)
			v.Spec.Ports[0].NodePort = 30080
			return v
		}(), wantErr: `Service "taken" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated`},
		{name: "out of range", svc: func() *corev1.Service {
			v := svcOf("outside", corev1.ServiceTypeNodePort)
			v.Spec.Ports[0].NodePort = 29999
			return v
		}(), wantErr: `Service "outside" is invalid: spec.ports[0].nodePort: Invalid value: 29999: provided port is not in the valid range. The range of valid ports is 30000-32767`},
		{name: "taken on the second port", svc: svcOf("second", corev1.ServiceTypeNodePort,
			corev1.ServicePort{Name: "a", Port: 80}, corev1.ServicePort{Name: "b", Port: 81, NodePort: 30080}),
			wantErr: `spec.ports[1].nodePort: Invalid value: 30080: provided port is already allocated`},
		{name: "automatic", svc: svcOf("auto", corev1.ServiceTypeNodePort, corev1.ServicePort{Name: "a", Port: 80}, corev1.ServicePort{Name: "b", Port: 81}),
			check: func(t *testing.T, got *corev1.Service) {
				a, b := got.Spec.Ports[0].NodePort, got.Spec.Ports[1].NodePort
				if !inRange(a) || !inRange(b) || a == b || a == 30080 || b == 30080 {
					t.Errorf("nodePorts %d, %d: want two distinct free ports in range", a, b)
				}
			}},
		{name: "same port number, two protocols share one nodePort", svc: svcOf("dns", corev1.ServiceTypeNodePort,
			corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}, corev1.ServicePort{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP}),
			check: func(t *testing.T, got *corev1.Service) {
				if a, b := got.Spec.Ports[0].NodePort, got.Spec.Ports[1].NodePort; !inRange(a) || a != b {
					t.Errorf("nodePorts %d, %d: want one shared port", a, b)
				}
			}},
		{name: "load balancer gets nodePorts", svc: svcOf("lb", corev1.ServiceTypeLoadBalancer),
			check: func(t *testing.T, got *corev1.Service) {
				if !inRange(got.Spec.Ports[0].NodePort) || got.Spec.HealthCheckNodePort != 0 {
					t.Errorf("nodePort %d healthCheckNodePort %d", got.Spec.Ports[0].NodePort, got.Spec.HealthCheckNodePort)
				}
			}},
		{name: "load balancer without nodePorts", svc: func() *corev1.Service {
			v := svcOf("lb-no-np", corev1.ServiceTypeLoadBalancer)
			v.Spec.AllocateLoadBalancerNodePorts = boolPtr(false)
			return v
		}(), check: func(t *testing.T, got *corev1.Service) {
			if got.Spec.Ports[0].NodePort != 0 {
				t.Errorf("nodePort %d, want none", got.Spec.Ports[0].NodePort)
			}
		}},
		{name: "load balancer, local traffic policy: health-check port", svc: func() *corev1.Service {
			v := svcOf("lb-local", corev1.ServiceTypeLoadBalancer)
			v.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			return v
		}(), check: func(t *testing.T, got *corev1.Service) {
			hc := got.Spec.HealthCheckNodePort
			if !inRange(hc) || hc == got.Spec.Ports[0].NodePort {
				t.Errorf("healthCheckNodePort %d (nodePort %d)", hc, got.Spec.Ports[0].NodePort)
			}
		}},
		{name: "taken health-check port", svc: func() *corev1.Service {
			v := svcOf("lb-hc", corev1.ServiceTypeLoadBalancer)
			v.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			v.Spec.HealthCheckNodePort = 30080
			return v
		}(), wantErr: `spec.healthCheckNodePort: Invalid value: 30080: failed to allocate requested HealthCheck NodePort 30080: provided port is already allocated`},
		{name: "headless", svc: func() *corev1.Service {
			v := svcOf("headless", corev1.ServiceTypeClusterIP)
			v.Spec.ClusterIP = corev1.ClusterIPNone
			return v
		}(), check: func(t *testing.T, got *corev1.Service) {
			if got.Spec.ClusterIP != corev1.ClusterIPNone || len(got.Spec.ClusterIPs) != 1 || got.Spec.ClusterIPs[0] != corev1.ClusterIPNone {
				t.Errorf("clusterIP %q clusterIPs %v", got.Spec.ClusterIP, got.Spec.ClusterIPs)
			}
		}},
		{name: "taken clusterIP", svc: func() *corev1.Service {
			v := svcOf("taken-ip", corev1.ServiceTypeClusterIP)
			v.Spec.ClusterIP = "10.96.0.1"
			return v
		}(), wantErr: `Service "taken-ip" is invalid: spec.clusterIPs: Invalid value: ["10.96.0.1"]: failed to allocate IP 10.96.0.1: provided IP is already allocated`},
		{name: "clusterIP out of range", svc: func() *corev1.Service {
			v := svcOf("far-ip", corev1.ServiceTypeClusterIP)
			v.Spec.ClusterIP = "192.168.0.1"
			return v
		}(), wantErr: `spec.clusterIPs: Invalid value: ["192.168.0.1"]: failed to allocate IP 192.168.0.1: the provided IP (192.168.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12`},
		{name: "dry run does not keep the port", dryRun: true, svc: func() *corev1.Service {
			v := svcOf("dry", corev1.ServiceTypeNodePort)
			v.Spec.Ports[0].NodePort = 30081
			return v
		}(), check: func(t *testing.T, got *corev1.Service) {
			if got.Spec.Ports[0].NodePort != 30081 {
				t.Errorf("nodePort %d", got.Spec.Ports[0].NodePort)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := metav1.CreateOptions{}
			if tc.dryRun {
				opts.DryRun = []string{metav1.DryRunAll}
			}
			got, err := svcs.Create(ctx, tc.svc, opts)
			if tc.wantErr != "" {
				if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want 422 with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			tc.check(t, got)
		})
	}
	// The dry run kept nothing: 30081 is free.
	mustCreateNodePort(t, s.Client, "after-dry", 30081)

	// Updates that leave nodePort out keep it.
	patched, err := svcs.Patch(ctx, "first", types.JSONPatchType,
		[]byte(`[{"op":"remove","path":"/spec/ports/0/nodePort"},{"op":"add","path":"/metadata/labels","value":{"a":"b"}}]`), metav1.PatchOptions{})
	if err != nil || patched.Spec.Ports[0].NodePort != 30080 {
		t.Fatalf("update without nodePort: %v, nodePort %d, want 30080 kept", err, nodePortOf(patched))
	}
	// Changing the nodePort frees the old one.
	patched, err = svcs.Patch(ctx, "first", types.JSONPatchType, []byte(`[{"op":"replace","path":"/spec/ports/0/nodePort","value":30082}]`), metav1.PatchOptions{})
	if err != nil || patched.Spec.Ports[0].NodePort != 30082 {
		t.Fatalf("changing nodePort to 30082: %v", err)
	}
	mustCreateNodePort(t, s.Client, "reuse-30080", 30080)
	// Type change to ClusterIP clears and frees the nodePort.
	patched, err = svcs.Patch(ctx, "first", types.MergePatchType, []byte(`{"spec":{"type":"ClusterIP"}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("type change to ClusterIP: %v", err)
	}
	if patched.Spec.Ports[0].NodePort != 0 || patched.Spec.ExternalTrafficPolicy != "" {
		t.Fatalf("after type change: nodePort %d externalTrafficPolicy %q, want both cleared", patched.Spec.Ports[0].NodePort, patched.Spec.ExternalTrafficPolicy)
	}
	mustCreateNodePort(t, s.Client, "reuse-30082", 30082)
	// Back to NodePort: a new port is picked.
	patched, err = svcs.Patch(ctx, "first", types.MergePatchType, []byte(`{"spec":{"type":"NodePort"}}`), metav1.PatchOptions{})
	if err != nil || !inRange(patched.Spec.Ports[0].NodePort) {
		t.Fatalf("type change to NodePort: %v (nodePort %d)", err, nodePortOf(patched))
	}
	// Delete frees.
	if err := svcs.Delete(ctx, "reuse-30080", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	mustCreateNodePort(t, s.Client, "again-30080", 30080)

	// Concurrent creates never share a port.
	var wg sync.WaitGroup
	got := make([]int32, 20)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := svcs.Create(ctx, svcOf(fmt.Sprintf("par-%d", i), corev1.ServiceTypeNodePort), metav1.CreateOptions{})
			if err != nil {
				t.Errorf("parallel create %d: %v", i, err)
				return
			}
			got[i] = v.Spec.Ports[0].NodePort
		}()
	}
	wg.Wait()
	seen := map[int32]bool{}
	for _, p := range got {
		if seen[p] {
			t.Errorf("nodePort %d handed out twice in %v", p, got)
		}
		seen[p] = true
	}

	// After a restart on the same data the allocations hold.
	s.Stop()
	s2 := apiservertest.StartOn(t, s.DataDir)
	_, err = s2.Client.CoreV1().Services("default").Create(ctx, func() *corev1.Service {
		v := svcOf("after-restart", corev1.ServiceTypeNodePort)
		v.Spec.Ports[0].NodePort = 30080
		return v
	}(), metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "provided port is already allocated") {
		t.Fatalf("after restart, nodePort 30080 again: %v, want already allocated", err)
	}
}

func nodePortOf(s *corev1.Service) int32 {
	if s == nil || len(s.Spec.Ports) == 0 {
		return 0
	}
	return s.Spec.Ports[0].NodePort
}

func mustCreateNodePort(t *testing.T, c kubernetes.Interface, name string, port int32) {
	t.Helper()
	v := svcOf(name, corev1.ServiceTypeNodePort)
	v.Spec.Ports[0].NodePort = port
	if _, err := c.CoreV1().Services("default").Create(context.Background(), v, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating %s with nodePort %d: %v", name, port, err)
	}
}

// TestNodePortsAcrossAPIServers runs two API servers on one etcd: a port one of them handed out
// is refused by the other, and concurrent creates through both never share a port.
func TestNodePortsAcrossAPIServers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	etcdPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	a := apiservertest.StartOnWith(t, t.TempDir(), func(o *apiserver.Options) { o.EtcdClientPort = etcdPort })
	b := apiservertest.StartOnWith(t, t.TempDir(), func(o *apiserver.Options) {
		o.EtcdServers = []string{fmt.Sprintf("http://127.0.0.1:%d", etcdPort)}
	})
	defer b.Stop() // before a, whose etcd it uses
	ctx := context.Background()
	mustCreateNodePort(t, a.Client, "on-a", 30090)
	v := svcOf("on-b", corev1.ServiceTypeNodePort)
	v.Spec.Ports[0].NodePort = 30090
	_, err = b.Client.CoreV1().Services("default").Create(ctx, v, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.ports[0].nodePort: Invalid value: 30090: provided port is already allocated") {
		t.Fatalf("the other API server gave out 30090 again: %v", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[int32]string{}
	for i := 0; i < 20; i++ {
		c := a.Client
		if i%2 == 1 {
			c = b.Client
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("both-%d", i)
			got, err := c.CoreV1().Services("default").Create(ctx, svcOf(name, corev1.ServiceTypeNodePort), metav1.CreateOptions{})
			if err != nil {
				t.Errorf("create %s: %v", name, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			p := got.Spec.Ports[0].NodePort
			if other, dup := seen[p]; dup {
				t.Errorf("nodePort %d given to %s and %s", p, other, name)
			}
			seen[p] = name
		}()
	}
	wg.Wait()
}
