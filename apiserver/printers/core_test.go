package printers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNodeRows(t *testing.T) {
	info := corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OSImage: "Ubuntu 24.04", KernelVersion: "6.8.0", ContainerRuntimeVersion: "containerd://2.0.0"}
	addrs := []corev1.NodeAddress{
		{Type: corev1.NodeHostName, Address: "n1"},
		{Type: corev1.NodeInternalIP, Address: "192.168.0.10"},
		{Type: corev1.NodeInternalIP, Address: "fd00::10"},
		{Type: corev1.NodeExternalIP, Address: "34.1.2.3"},
	}
	ready := func(s corev1.ConditionStatus) []corev1.NodeCondition {
		return []corev1.NodeCondition{
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
			{Type: corev1.NodeReady, Status: s},
			{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue},
		}
	}
	tests := []struct {
		name string
		node corev1.Node
		want []any
	}{
		{
			name: "ready control plane, cordoned",
			node: corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: ago(10 * 24 * time.Hour), Labels: map[string]string{
					"node-role.kubernetes.io/control-plane": "",
					"node-role.kubernetes.io/etcd":          "true",
					"kubernetes.io/role":                    "master",
					"kubernetes.io/hostname":                "n1",
				}},
				Spec:   corev1.NodeSpec{Unschedulable: true},
				Status: corev1.NodeStatus{Conditions: ready(corev1.ConditionTrue), Addresses: addrs, NodeInfo: info},
			},
			want: []any{"n1", "Ready,SchedulingDisabled", "control-plane,etcd,master", "10d", "v1.37.2",
				"192.168.0.10", "34.1.2.3", "Ubuntu 24.04", "6.8.0", "containerd://2.0.0"},
		},
		{
			name: "not ready worker",
			node: corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "n2", CreationTimestamp: ago(time.Hour), Labels: map[string]string{
					"node-role.kubernetes.io/worker": "",
					"node-role.kubernetes.io/":       "", // empty role is ignored
					"kubernetes.io/role":             "",
				}},
				Status: corev1.NodeStatus{Conditions: ready(corev1.ConditionFalse), NodeInfo: info},
			},
			want: []any{"n2", "NotReady", "worker", "60m", "v1.37.2", "<none>", "<none>", "Ubuntu 24.04", "6.8.0", "containerd://2.0.0"},
		},
		{
			name: "ready condition unknown",
			node: corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "n3", CreationTimestamp: ago(time.Hour)},
				Status:     corev1.NodeStatus{Conditions: ready(corev1.ConditionUnknown)},
			},
			want: []any{"n3", "NotReady", "<none>", "60m", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"},
		},
		{
			name: "no ready condition, cordoned",
			node: corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "n4", CreationTimestamp: ago(time.Hour)},
				Spec:       corev1.NodeSpec{Unschedulable: true},
			},
			want: []any{"n4", "Unknown,SchedulingDisabled", "<none>", "60m", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCells(t, rowCells(t, nodesGR, &tt.node), tt.want)
		})
	}
}

func TestNamespaceRow(t *testing.T) {
	deleted := ago(time.Second)
	checkCells(t, rowCells(t, namespacesGR, &corev1.Namespace{ObjectMeta: objMeta("kube-system", 48*time.Hour), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}),
		[]any{"kube-system", "Active", "2d"})
	checkCells(t, rowCells(t, namespacesGR, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gone", CreationTimestamp: ago(time.Hour), DeletionTimestamp: &deleted},
		Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}),
		[]any{"gone", "Terminating", "60m"})
}

func TestServiceRows(t *testing.T) {
	tcp := func(port, nodePort int32) corev1.ServicePort {
		return corev1.ServicePort{Port: port, NodePort: nodePort, Protocol: corev1.ProtocolTCP}
	}
	tests := []struct {
		name string
		spec corev1.ServiceSpec
		lb   []corev1.LoadBalancerIngress
		want []any // cells after the name, without age
	}{
		{
			name: "cluster ip",
			spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
				Ports: []corev1.ServicePort{tcp(80, 0)}, Selector: map[string]string{"app": "web"}},
			want: []any{"ClusterIP", "10.96.0.10", "<none>", "80/TCP", "app=web"},
		},
		{
			name: "dual stack, several ports",
			spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10", "fd00::10"},
				Ports:    []corev1.ServicePort{tcp(80, 0), {Port: 53, Protocol: corev1.ProtocolUDP}, {Port: 9000, Protocol: corev1.ProtocolSCTP}},
				Selector: map[string]string{"tier": "fe", "app": "web"}},
			want: []any{"ClusterIP", "10.96.0.10", "<none>", "80/TCP,53/UDP,9000/SCTP", "app=web,tier=fe"},
		},
		{
			name: "cluster ip with external ips",
			spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIPs: []string{"10.96.0.11"}, ExternalIPs: []string{"1.2.3.4", "5.6.7.8"},
				Ports: []corev1.ServicePort{tcp(443, 0)}},
			want: []any{"ClusterIP", "10.96.0.11", "1.2.3.4,5.6.7.8", "443/TCP", "<none>"},
		},
		{
			name: "headless",
			spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "None", ClusterIPs: []string{"None"}},
			want: []any{"ClusterIP", "None", "<none>", "<none>", "<none>"},
		},
		{
			name: "node port",
			spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIPs: []string{"10.96.0.12"},
				Ports: []corev1.ServicePort{tcp(80, 30080), tcp(443, 30443)}},
			want: []any{"NodePort", "10.96.0.12", "<none>", "80:30080/TCP,443:30443/TCP", "<none>"},
		},
		{
			name: "load balancer with ingress",
			spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.0.13"}, Ports: []corev1.ServicePort{tcp(80, 31000)}},
			lb:   []corev1.LoadBalancerIngress{{IP: "203.0.113.9"}, {Hostname: "lb.example.com"}, {IP: "203.0.113.9"}, {IP: "198.51.100.1"}},
			// sorted, deduplicated, not clipped (tables are always wide)
			want: []any{"LoadBalancer", "10.96.0.13", "198.51.100.1,203.0.113.9,lb.example.com", "80:31000/TCP", "<none>"},
		},
		{
			name: "load balancer with ingress and external ips",
			spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.0.14"}, ExternalIPs: []string{"1.2.3.4"}, Ports: []corev1.ServicePort{tcp(80, 31001)}},
			lb:   []corev1.LoadBalancerIngress{{IP: "203.0.113.10"}},
			want: []any{"LoadBalancer", "10.96.0.14", "203.0.113.10,1.2.3.4", "80:31001/TCP", "<none>"},
		},
		{
			name: "load balancer pending",
			spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.0.15"}, Ports: []corev1.ServicePort{tcp(80, 31002)}},
			want: []any{"LoadBalancer", "10.96.0.15", "<pending>", "80:31002/TCP", "<none>"},
		},
		{
			name: "external name",
			spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"},
			want: []any{"ExternalName", "<none>", "db.example.com", "<none>", "<none>"},
		},
		{
			name: "cluster ip only in the singular field",
			spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.16", Ports: []corev1.ServicePort{tcp(8080, 0)}},
			want: []any{"ClusterIP", "10.96.0.16", "<none>", "8080/TCP", "<none>"},
		},
		{
			name: "no type",
			spec: corev1.ServiceSpec{},
			want: []any{"", "<none>", "<unknown>", "<none>", "<none>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &corev1.Service{ObjectMeta: objMeta("svc", 5*time.Minute), Spec: tt.spec}
			svc.Status.LoadBalancer.Ingress = tt.lb
			got := rowCells(t, servicesGR, svc)
			want := append([]any{"svc"}, tt.want[:4]...)
			want = append(want, "5m", tt.want[4])
			checkCells(t, got, want)
		})
	}
}

func TestLoadBalancerClipping(t *testing.T) {
	s := corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "203.0.113.10"}, {IP: "203.0.113.11"}}}
	if got, want := loadBalancerStatusString(s, false), "203.0.113.10,..."; got != want {
		t.Errorf("narrow = %q, want %q", got, want)
	}
	if got, want := loadBalancerStatusString(s, true), "203.0.113.10,203.0.113.11"; got != want {
		t.Errorf("wide = %q, want %q", got, want)
	}
}

func TestEndpointsRows(t *testing.T) {
	addrs := func(ips ...string) []corev1.EndpointAddress {
		var a []corev1.EndpointAddress
		for _, ip := range ips {
			a = append(a, corev1.EndpointAddress{IP: ip})
		}
		return a
	}
	ports := func(ps ...int32) []corev1.EndpointPort {
		var p []corev1.EndpointPort
		for _, n := range ps {
			p = append(p, corev1.EndpointPort{Port: n, Protocol: corev1.ProtocolTCP})
		}
		return p
	}
	tests := []struct {
		name    string
		subsets []corev1.EndpointSubset
		want    string
	}{
		{"none", nil, "<none>"},
		{"one", []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1"), Ports: ports(80)}}, "10.0.0.1:80"},
		{"three", []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1", "10.0.0.2", "10.0.0.3"), Ports: ports(80)}},
			"10.0.0.1:80,10.0.0.2:80,10.0.0.3:80"},
		{"five truncated", []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"), Ports: ports(80)}},
			"10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more..."},
		{"two ports", []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1", "10.0.0.2"), Ports: ports(80, 443)}},
			"10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more..."},
		{"several subsets", []corev1.EndpointSubset{
			{Addresses: addrs("10.0.0.1"), Ports: ports(80)},
			{Addresses: addrs("10.0.1.1", "10.0.1.2"), Ports: ports(8080)},
			{Addresses: addrs("10.0.2.1", "10.0.2.2"), Ports: ports(9090)},
		}, "10.0.0.1:80,10.0.1.1:8080,10.0.1.2:8080 + 2 more..."},
		{"headless, no ports", []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1", "10.0.0.2")}}, "10.0.0.1,10.0.0.2"},
		{"headless truncated", []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4")}},
			"10.0.0.1,10.0.0.2,10.0.0.3 + 1 more..."},
		{"ipv6", []corev1.EndpointSubset{{Addresses: addrs("fd00::1"), Ports: ports(80)}}, "[fd00::1]:80"},
		{"only not-ready addresses", []corev1.EndpointSubset{{NotReadyAddresses: addrs("10.0.0.9"), Ports: ports(80)}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := &corev1.Endpoints{ObjectMeta: objMeta("kubernetes", 90*time.Minute), Subsets: tt.subsets}
			checkCells(t, rowCells(t, endpointsGR, ep), []any{"kubernetes", tt.want, "90m"})
		})
	}
}

func TestConfigMapRow(t *testing.T) {
	cm := &corev1.ConfigMap{
		ObjectMeta: objMeta("cfg", 30*time.Second),
		Data:       map[string]string{"a": "1", "b": "2"},
		BinaryData: map[string][]byte{"c": {1}},
	}
	checkCells(t, rowCells(t, configMapsGR, cm), []any{"cfg", int64(3), "30s"})
	checkCells(t, rowCells(t, configMapsGR, &corev1.ConfigMap{ObjectMeta: objMeta("empty", time.Minute)}), []any{"empty", int64(0), "60s"})
}

func TestSecretRows(t *testing.T) {
	tests := []struct {
		secret corev1.Secret
		want   []any
	}{
		{corev1.Secret{ObjectMeta: objMeta("opaque", time.Hour), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"k": nil}},
			[]any{"opaque", "Opaque", int64(1), "60m"}},
		{corev1.Secret{ObjectMeta: objMeta("tls", time.Hour), Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": {1}, "tls.key": {2}}},
			[]any{"tls", "kubernetes.io/tls", int64(2), "60m"}},
		{corev1.Secret{ObjectMeta: objMeta("sa-token", time.Hour), Type: corev1.SecretTypeServiceAccountToken,
			Data: map[string][]byte{"ca.crt": {1}, "namespace": {2}, "token": {3}}},
			[]any{"sa-token", "kubernetes.io/service-account-token", int64(3), "60m"}},
		{corev1.Secret{ObjectMeta: objMeta("pull", time.Hour), Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{".dockerconfigjson": {1}}},
			[]any{"pull", "kubernetes.io/dockerconfigjson", int64(1), "60m"}},
		{corev1.Secret{ObjectMeta: objMeta("string-data", time.Hour), Type: corev1.SecretTypeBasicAuth,
			Data: map[string][]byte{"username": {1}}, StringData: map[string]string{"username": "x", "password": "y"}},
			[]any{"string-data", "kubernetes.io/basic-auth", int64(2), "60m"}},
	}
	for _, tt := range tests {
		checkCells(t, rowCells(t, secretsGR, &tt.secret), tt.want)
	}
}

func TestServiceAccountRow(t *testing.T) {
	sa := &corev1.ServiceAccount{ObjectMeta: objMeta("default", 24*time.Hour), Secrets: []corev1.ObjectReference{{Name: "a"}, {Name: "b"}}}
	checkCells(t, rowCells(t, serviceAccountGR, sa), []any{"default", int64(2), "24h"})
	checkCells(t, rowCells(t, serviceAccountGR, &corev1.ServiceAccount{ObjectMeta: objMeta("none", time.Hour)}), []any{"none", int64(0), "60m"})
}
