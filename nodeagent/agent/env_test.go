package agent

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/nodeagent/volumes"
)

type fakeSources struct {
	cms  map[string]*corev1.ConfigMap
	secs map[string]*corev1.Secret
	svcs []*corev1.Service
}

func (f fakeSources) ConfigMap(_, name string) (*corev1.ConfigMap, error) {
	if cm, ok := f.cms[name]; ok {
		return cm, nil
	}
	return nil, volumes.NotFound("configmap", name)
}

func (f fakeSources) Secret(_, name string) (*corev1.Secret, error) {
	if s, ok := f.secs[name]; ok {
		return s, nil
	}
	return nil, volumes.NotFound("secret", name)
}

func (f fakeSources) Services(*corev1.Pod) ([]*corev1.Service, error) { return f.svcs, nil }

func envMap(kvs []*runtimeapi.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.Key] = string(kv.Value)
	}
	return m
}

func TestMakeEnvironment(t *testing.T) {
	src := fakeSources{
		cms:  map[string]*corev1.ConfigMap{"cm": {Data: map[string]string{"A": "from-cm", "B": "b", "dashed-name": "x", "": "empty"}}},
		secs: map[string]*corev1.Secret{"s": {Data: map[string][]byte{"TOKEN": []byte("tok")}}},
		svcs: []*corev1.Service{{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.1",
			Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}}}}},
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1", Labels: map[string]string{"app": "x"}},
		Spec: corev1.PodSpec{NodeName: "n1", ServiceAccountName: "sa"}}
	c := &corev1.Container{Name: "c",
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")}},
		EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}},
			{Prefix: "S_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}},
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Optional: ptr.To(true)}},
		},
		Env: []corev1.EnvVar{
			{Name: "A", Value: "override-$(B)"},
			{Name: "LITERAL", Value: "$(UNDEFINED) $$(B) $(KUBERNETES_SERVICE_HOST)"},
			{Name: "NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "NS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: "UID", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.uid"}}},
			{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
			{Name: "SA", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.serviceAccountName"}}},
			{Name: "PODIP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "HOSTIP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"}}},
			{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
			{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
			{Name: "CMKEY", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "B"}}},
			{Name: "SECKEY", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "TOKEN"}}},
			{Name: "OPT", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "nope", Optional: ptr.To(true)}}},
		},
	}
	in := EnvInput{PodIPs: []string{"10.0.0.5"}, HostIPs: []string{"192.168.1.2"}, NodeAllocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8")}}
	kvs, err := MakeEnvironment(pod, c, in, src)
	if err != nil {
		t.Fatal(err)
	}
	got := envMap(kvs)
	want := map[string]string{
		"A": "override-b", "B": "b", "dashed-name": "x", "S_TOKEN": "tok", "LITERAL": "$(UNDEFINED) $(B) 10.96.0.1",
		"NAME": "p", "NS": "ns", "UID": "u1", "APP": "x", "NODE": "n1", "SA": "sa", "PODIP": "10.0.0.5", "HOSTIP": "192.168.1.2",
		"MEM": "128", "CPU": "8", "CMKEY": "b", "SECKEY": "tok",
		"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443", "KUBERNETES_SERVICE_PORT_HTTPS": "443",
		"KUBERNETES_PORT": "tcp://10.96.0.1:443", "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443", "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
		"KUBERNETES_PORT_443_TCP_PORT": "443", "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
	}
	if !reflect.DeepEqual(got, want) {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q", k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected %s=%q", k, got[k])
			}
		}
	}
	// envFrom first, then env in order, then service variables.
	if kvs[0].Key != "A" || kvs[len(kvs)-1].Key != "KUBERNETES_SERVICE_PORT_HTTPS" {
		t.Errorf("order: first %s last %s", kvs[0].Key, kvs[len(kvs)-1].Key)
	}
}

func TestMakeEnvironmentErrors(t *testing.T) {
	src := fakeSources{cms: map[string]*corev1.ConfigMap{"cm": {Data: map[string]string{"k": "v"}}}, secs: map[string]*corev1.Secret{"s": {}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	cases := []struct {
		env  corev1.EnvVar
		from *corev1.EnvFromSource
		want string
	}{
		{env: corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "x"}, Key: "k"}}},
			want: `configmap "x" not found`},
		{env: corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "nope"}}},
			want: "couldn't find key nope in ConfigMap ns/cm"},
		{env: corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "y"}, Key: "k"}}},
			want: `secret "y" not found`},
		{env: corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}},
			want: "couldn't find key k in Secret ns/s"},
		{from: &corev1.EnvFromSource{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "z"}}},
			want: `configmap "z" not found`},
		{env: corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.bogus"}}},
			want: "unsupported fieldPath: spec.bogus"},
	}
	for _, tc := range cases {
		c := &corev1.Container{Name: "c"}
		if tc.from != nil {
			c.EnvFrom = []corev1.EnvFromSource{*tc.from}
		} else {
			c.Env = []corev1.EnvVar{tc.env}
		}
		_, err := MakeEnvironment(pod, c, EnvInput{}, src)
		if err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

func TestPodDNSConfig(t *testing.T) {
	host := []byte("# comment\nnameserver 1.1.1.1\nnameserver 8.8.8.8\nsearch corp.example\noptions edns0 ndots:2\n")
	in := DNSInput{ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local", HostResolvConf: host}
	pod := func(policy corev1.DNSPolicy, hostNet bool, dc *corev1.PodDNSConfig) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team"}, Spec: corev1.PodSpec{DNSPolicy: policy, HostNetwork: hostNet, DNSConfig: dc}}
	}
	cases := []struct {
		name                       string
		pod                        *corev1.Pod
		in                         DNSInput
		servers, searches, options []string
	}{
		{"ClusterFirst", pod(corev1.DNSClusterFirst, false, nil), in, []string{"10.96.0.10"},
			[]string{"team.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"}, []string{"ndots:5"}},
		{"empty policy is ClusterFirst", pod("", false, nil), in, []string{"10.96.0.10"},
			[]string{"team.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"}, []string{"ndots:5"}},
		{"ClusterFirst on host network is Default", pod(corev1.DNSClusterFirst, true, nil), in, []string{"1.1.1.1", "8.8.8.8"}, []string{"corp.example"}, []string{"edns0", "ndots:2"}},
		{"ClusterFirstWithHostNet", pod(corev1.DNSClusterFirstWithHostNet, true, nil), in, []string{"10.96.0.10"},
			[]string{"team.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"}, []string{"ndots:5"}},
		{"no cluster DNS falls back to Default", pod(corev1.DNSClusterFirst, false, nil), DNSInput{HostResolvConf: host}, []string{"1.1.1.1", "8.8.8.8"}, []string{"corp.example"}, []string{"edns0", "ndots:2"}},
		{"Default", pod(corev1.DNSDefault, false, nil), in, []string{"1.1.1.1", "8.8.8.8"}, []string{"corp.example"}, []string{"edns0", "ndots:2"}},
		{"None", pod(corev1.DNSNone, false, &corev1.PodDNSConfig{Nameservers: []string{"9.9.9.9"}, Searches: []string{"a.b"},
			Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("1")}, {Name: "rotate"}}}), in, []string{"9.9.9.9"}, []string{"a.b"}, []string{"ndots:1", "rotate"}},
		{"ClusterFirst merged with dnsConfig", pod(corev1.DNSClusterFirst, false, &corev1.PodDNSConfig{Nameservers: []string{"9.9.9.9"},
			Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("2")}}}), in, []string{"10.96.0.10", "9.9.9.9"},
			[]string{"team.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"}, []string{"ndots:2"}},
		{"ClusterFirst without duplicate searches", pod(corev1.DNSClusterFirst, false, nil),
			DNSInput{ClusterDNS: []string{"10.96.0.10"}, HostResolvConf: []byte("nameserver 1.1.1.1\nsearch cluster.local corp.example\n")},
			[]string{"10.96.0.10"}, []string{"team.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"}, []string{"ndots:5"}},
	}
	for _, tc := range cases {
		got := PodDNSConfig(tc.pod, tc.in)
		if !reflect.DeepEqual(got.Servers, tc.servers) || !reflect.DeepEqual(got.Searches, tc.searches) || !reflect.DeepEqual(got.Options, tc.options) {
			t.Errorf("%s: got %v %v %v, want %v %v %v", tc.name, got.Servers, got.Searches, got.Options, tc.servers, tc.searches, tc.options)
		}
	}
}

func TestMachineParsing(t *testing.T) {
	if got := ParseMemTotal([]byte("MemTotal:       16314392 kB\nMemFree: 1 kB\n")); got != 16314392*1024 {
		t.Errorf("MemTotal %d", got)
	}
	osr := ParseOSRelease([]byte("PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nID=debian\n"))
	if osr["PRETTY_NAME"] != "Debian GNU/Linux 13 (trixie)" || osr["ID"] != "debian" {
		t.Errorf("os-release %v", osr)
	}
	mi := MachineInfo{NumCPU: 4, MemoryBytes: 1 << 30, EphemeralStorage: 100 << 30}
	capacity, alloc := mi.Capacity()
	if capacity.Cpu().Value() != 4 || capacity.Pods().Value() != 110 || alloc.Memory().Value() != 1<<30-100<<20 || alloc.StorageEphemeral().Value() != 90<<30 {
		t.Errorf("capacity %v allocatable %v", capacity, alloc)
	}
	mi = ReadMachineInfo(t.TempDir())
	if mi.NumCPU < 1 || mi.MemoryBytes <= 0 || mi.EphemeralStorage <= 0 || mi.KernelVersion == "" || !strings.Contains(mi.OSImage, "") {
		t.Errorf("machine info %+v", mi)
	}
}

func TestHostsFile(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "ns"}, Spec: corev1.PodSpec{Hostname: "web", Subdomain: "svc",
		HostAliases: []corev1.HostAlias{{IP: "1.2.3.4", Hostnames: []string{"foo", "bar"}}}}}
	got := string(HostsFile(pod, []string{"10.0.0.5"}, "cluster.local"))
	want := "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n" +
		"fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n10.0.0.5\tweb.svc.ns.svc.cluster.local\tweb\n" +
		"\n# Entries added by HostAliases.\n1.2.3.4\tfoo\tbar\n"
	if got != want {
		t.Errorf("hosts file:\n%s\nwant:\n%s", got, want)
	}
	c := &corev1.Container{}
	if !mountsEtcHosts(pod, c, []string{"10.0.0.5"}) || mountsEtcHosts(pod, c, nil) {
		t.Error("mount decision")
	}
	pod.Spec.HostNetwork = true
	if mountsEtcHosts(pod, c, []string{"10.0.0.5"}) {
		t.Error("host network pods keep the host's /etc/hosts")
	}
}

func TestImageAuth(t *testing.T) {
	cfg := `{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},"registry.example.com:5000":{"username":"u","password":"p"}}}`
	s := &corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(cfg)}}
	if a := ImageAuth(s, "nginx:1.27"); a == nil || a.Username != "user" || a.Password != "pass" {
		t.Errorf("docker hub: %+v", a)
	}
	if a := ImageAuth(s, "registry.example.com:5000/team/app:v1"); a == nil || a.Username != "u" || a.Password != "p" {
		t.Errorf("private registry: %+v", a)
	}
	if a := ImageAuth(s, "quay.io/x/y"); a != nil {
		t.Errorf("other registry: %+v", a)
	}
	old := &corev1.Secret{Type: corev1.SecretTypeDockercfg, Data: map[string][]byte{corev1.DockerConfigKey: []byte(`{"localhost:5000":{"username":"a","password":"b"}}`)}}
	if a := ImageAuth(old, "localhost:5000/img"); a == nil || a.Username != "a" {
		t.Errorf("dockercfg: %+v", a)
	}
}

// TestExpandSubPaths: subPathExpr takes the container's variables, as upstream's
// ExpandContainerVolumeMounts; an undefined or empty one fails; $$ escapes.
func TestExpandSubPaths(t *testing.T) {
	envs := []*runtimeapi.KeyValue{{Key: "POD_NAME", Value: []byte("web-0")}, {Key: "NS", Value: []byte("prod")}, {Key: "EMPTY"}}
	c := &corev1.Container{Name: "c", VolumeMounts: []corev1.VolumeMount{
		{Name: "data", MountPath: "/data", SubPathExpr: "$(NS)/$(POD_NAME)"},
		{Name: "data", MountPath: "/plain", SubPath: "fixed"},
		{Name: "data", MountPath: "/lit", SubPathExpr: "a$$(NS)"},
	}}
	got, err := ExpandSubPaths(c, envs)
	if err != nil {
		t.Fatal(err)
	}
	var subs []string
	for _, m := range got.VolumeMounts {
		subs = append(subs, m.SubPath+"|"+m.SubPathExpr)
	}
	if want := []string{"prod/web-0|", "fixed|", "a$(NS)|"}; !reflect.DeepEqual(subs, want) {
		t.Errorf("subPaths %q, want %q", subs, want)
	}
	if c.VolumeMounts[0].SubPath != "" {
		t.Error("the pod's container was changed")
	}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/x", SubPathExpr: "$(NOPE)/$(EMPTY)/$(NOPE)"}}
	if _, err := ExpandSubPaths(c, envs); err == nil || err.Error() != "missing value for EMPTY, NOPE" {
		t.Errorf("missing variables: %v", err)
	}
}
