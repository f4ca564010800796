package validation

import (
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func boolp(b bool) *bool { return &b }

func TestNamespace(t *testing.T) {
	ns := defaulted(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", ResourceVersion: "1"}})
	checkErrs(t, ValidateCreate(ns), nil)
	bad := defaulted(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team.a"}})
	checkErrs(t, ValidateCreate(bad), []want{{"metadata.name", field.ErrorTypeInvalid, "must not contain dots"}})
	ns2 := ns.DeepCopy()
	ns2.Spec.Finalizers = []corev1.FinalizerName{"foo"}
	checkErrs(t, ValidateCreate(ns2), []want{{"spec.finalizers", field.ErrorTypeInvalid, "name is neither a standard finalizer name nor is it fully qualified"}})

	upd := ns.DeepCopy()
	upd.Labels["x"] = "y"
	checkErrs(t, ValidateUpdate(upd, ns), nil)
	st := ns.DeepCopy()
	st.Status.Phase = corev1.NamespaceTerminating
	checkErrs(t, ValidateStatusUpdate(st, ns), []want{{"status.Phase", field.ErrorTypeInvalid, "may only be 'Active' if `deletionTimestamp` is empty"}})
}

func TestNode(t *testing.T) {
	n := defaulted(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1.example", ResourceVersion: "1"}})
	checkErrs(t, ValidateCreate(n), nil)
	bad := n.DeepCopy()
	bad.Spec.Taints = []corev1.Taint{{Key: "k", Effect: "Sometimes"}, {Key: "", Effect: corev1.TaintEffectNoSchedule}}
	bad.Spec.PodCIDRs = []string{"10.0.0.0/33"}
	checkErrs(t, ValidateCreate(bad), []want{
		{"metadata.taints[0].effect", field.ErrorTypeNotSupported, ""},
		{"metadata.taints[1].key", field.ErrorTypeInvalid, "name part must be non-empty"},
		{"metadata.taints[1].key", field.ErrorTypeInvalid, "name part must consist of"},
		{"spec.podCIDRs[0]", field.ErrorTypeInvalid, ""},
	})
	dup := n.DeepCopy()
	dup.Spec.Taints = []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}, {Key: "k", Value: "v", Effect: corev1.TaintEffectNoSchedule}}
	checkErrs(t, ValidateCreate(dup), []want{{"metadata.taints[1]", field.ErrorTypeDuplicate, "taints must be unique by key and effect pair"}})

	old := n.DeepCopy()
	old.Spec.PodCIDR, old.Spec.PodCIDRs = "10.244.0.0/24", []string{"10.244.0.0/24"}
	upd := old.DeepCopy()
	upd.Spec.PodCIDR, upd.Spec.PodCIDRs = "10.244.1.0/24", []string{"10.244.1.0/24"}
	checkErrs(t, ValidateUpdate(upd, old), []want{{"spec.podCIDRs", field.ErrorTypeForbidden, "node updates may not change podCIDR"}})
	st := old.DeepCopy()
	st.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}}
	checkErrs(t, ValidateStatusUpdate(st, old), nil)
}

func TestConfigMap(t *testing.T) {
	cm := defaulted(&corev1.ConfigMap{ObjectMeta: objMeta("cfg"), Data: map[string]string{"a.txt": "x"}})
	checkErrs(t, ValidateCreate(cm), nil)
	bad := cm.DeepCopy()
	bad.Data["bad/key"] = "x"
	checkErrs(t, ValidateCreate(bad), []want{{"data[bad/key]", field.ErrorTypeInvalid, "a valid config key must consist of"}})
	big := cm.DeepCopy()
	big.Data["big"] = strings.Repeat("x", 1024*1024+1)
	checkErrs(t, ValidateCreate(big), []want{{"[]", field.ErrorTypeTooLong, ""}})
	dup := cm.DeepCopy()
	dup.BinaryData = map[string][]byte{"a.txt": []byte("y")}
	checkErrs(t, ValidateCreate(dup), []want{{"data[a.txt]", field.ErrorTypeInvalid, "duplicate of key present in binaryData"}})

	old := cm.DeepCopy()
	old.Immutable = boolp(true)
	upd := old.DeepCopy()
	upd.Data["a.txt"] = "changed"
	checkErrs(t, ValidateUpdate(upd, old), []want{{"data", field.ErrorTypeForbidden, "field is immutable when `immutable` is set"}})
	upd = old.DeepCopy()
	upd.Immutable = nil
	checkErrs(t, ValidateUpdate(upd, old), []want{{"immutable", field.ErrorTypeForbidden, ""}})
}

func TestSecret(t *testing.T) {
	s := defaulted(&corev1.Secret{ObjectMeta: objMeta("sec"), Data: map[string][]byte{"password": []byte("x")}})
	if s.Type != corev1.SecretTypeOpaque {
		t.Fatalf("type not defaulted: %q", s.Type)
	}
	checkErrs(t, ValidateCreate(s), nil)
	big := s.DeepCopy()
	big.Data["big"] = make([]byte, 1024*1024+1)
	checkErrs(t, ValidateCreate(big), []want{{"data", field.ErrorTypeTooLong, ""}})
	bad := s.DeepCopy()
	bad.Data["-bad key"] = nil
	checkErrs(t, ValidateCreate(bad), []want{{"data[-bad key]", field.ErrorTypeInvalid, ""}})
	tls := defaulted(&corev1.Secret{ObjectMeta: objMeta("tls"), Type: corev1.SecretTypeTLS})
	checkErrs(t, ValidateCreate(tls), []want{{"data[tls.crt]", field.ErrorTypeRequired, ""}, {"data[tls.key]", field.ErrorTypeRequired, ""}})
	dcj := defaulted(&corev1.Secret{ObjectMeta: objMeta("d"), Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{".dockerconfigjson": []byte("{")}})
	checkErrs(t, ValidateCreate(dcj), []want{{"data[.dockerconfigjson]", field.ErrorTypeInvalid, ""}})

	upd := s.DeepCopy()
	upd.Type = corev1.SecretTypeBasicAuth
	upd.Data["username"] = []byte("u")
	checkErrs(t, ValidateUpdate(upd, s), []want{{"type", field.ErrorTypeInvalid, "field is immutable"}})
	old := s.DeepCopy()
	old.Immutable = boolp(true)
	upd = old.DeepCopy()
	upd.Data["password"] = []byte("y")
	checkErrs(t, ValidateUpdate(upd, old), []want{{"data", field.ErrorTypeForbidden, "field is immutable when `immutable` is set"}})
}

func TestServiceAccount(t *testing.T) {
	checkErrs(t, ValidateCreate(&corev1.ServiceAccount{ObjectMeta: objMeta("builder")}), nil)
	checkErrs(t, ValidateCreate(&corev1.ServiceAccount{ObjectMeta: objMeta("Builder")}), []want{{"metadata.name", field.ErrorTypeInvalid, ""}})
	checkErrs(t, ValidateCreate(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "default"}}), []want{{"metadata.name", field.ErrorTypeRequired, "name or generateName is required"}})
}

func TestEndpoints(t *testing.T) {
	ep := defaulted(&corev1.Endpoints{ObjectMeta: objMeta("web"), Subsets: []corev1.EndpointSubset{{
		Addresses: []corev1.EndpointAddress{{IP: "10.1.2.3"}}, Ports: []corev1.EndpointPort{{Port: 80}}}}})
	checkErrs(t, ValidateCreate(ep), nil)
	bad := ep.DeepCopy()
	bad.Subsets = append(bad.Subsets, corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{{IP: "127.0.0.1"}}, Ports: []corev1.EndpointPort{{Port: 0, Protocol: "TCP"}}}, corev1.EndpointSubset{})
	checkErrs(t, ValidateCreate(bad), []want{
		{"subsets[1].addresses[0].ip", field.ErrorTypeInvalid, "may not be in the loopback range"},
		{"subsets[1].ports[0].port", field.ErrorTypeInvalid, ""},
		{"subsets[2]", field.ErrorTypeRequired, "must specify `addresses` or `notReadyAddresses`"},
	})
}

func TestCoreEvent(t *testing.T) {
	e := &corev1.Event{ObjectMeta: objMeta("web.1"), InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"}, Reason: "Started", Type: "Normal"}
	checkErrs(t, ValidateCreate(e), nil)
	e.InvolvedObject.Namespace = "other"
	checkErrs(t, ValidateCreate(e), []want{{"involvedObject.namespace", field.ErrorTypeInvalid, "does not match event.namespace"}})
	e.InvolvedObject.Namespace = ""
	checkErrs(t, ValidateCreate(e), nil) // "default" is tolerated for old clients
}

func TestEventsV1(t *testing.T) {
	now := metav1.NewMicroTime(time.Now())
	e := &eventsv1.Event{ObjectMeta: objMeta("web.1"), EventTime: now, ReportingController: "skiff.dev/kubelet", ReportingInstance: "node-1",
		Action: "Start", Reason: "Started", Type: "Normal", Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"}}
	checkErrs(t, ValidateCreate(e), nil)
	bad := e.DeepCopy()
	bad.Type, bad.ReportingController, bad.DeprecatedCount = "Info", "", 3
	checkErrs(t, ValidateCreate(bad), []want{
		{"reportingController", field.ErrorTypeRequired, ""},
		{"reportingController", field.ErrorTypeInvalid, "name part must be non-empty"},
		{"reportingController", field.ErrorTypeInvalid, "name part must consist of"},
		{"type", field.ErrorTypeInvalid, "has invalid value: Info"},
		{"count", field.ErrorTypeInvalid, "needs to be unset"},
	})
	upd := e.DeepCopy()
	upd.Note = "changed"
	checkErrs(t, ValidateUpdate(upd, e), []want{{"message", field.ErrorTypeInvalid, "field is immutable"}})
}

func TestLease(t *testing.T) {
	l := &coordinationv1.Lease{ObjectMeta: objMeta("node-1"), Spec: coordinationv1.LeaseSpec{HolderIdentity: strp("node-1"), LeaseDurationSeconds: int32p(40)}}
	checkErrs(t, ValidateCreate(l), nil)
	bad := l.DeepCopy()
	bad.Spec.LeaseDurationSeconds = int32p(0)
	bad.Spec.LeaseTransitions = int32p(-1)
	bad.Spec.PreferredHolder = strp("x")
	checkErrs(t, ValidateCreate(bad), []want{
		{"spec.leaseDurationSeconds", field.ErrorTypeInvalid, "must be greater than 0"},
		{"spec.leaseTransitions", field.ErrorTypeInvalid, "must be greater than or equal to 0"},
		{"spec.preferredHolder", field.ErrorTypeForbidden, "may only be specified if `strategy` is defined"},
	})
	st := l.DeepCopy()
	s := coordinationv1.CoordinatedLeaseStrategy("Newest")
	st.Spec.Strategy = &s
	checkErrs(t, ValidateUpdate(st, l), []want{{"spec.strategy.strategy", field.ErrorTypeNotSupported, ""}})
}

func strp(s string) *string { return &s }

func TestEndpointSlice(t *testing.T) {
	es := defaulted(&discoveryv1.EndpointSlice{ObjectMeta: objMeta("web-abc"), AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.1.2.3"}}},
		Ports:     []discoveryv1.EndpointPort{{Port: int32p(80)}}})
	checkErrs(t, ValidateCreate(es), nil)
	bad := es.DeepCopy()
	bad.AddressType = "IPv5"
	checkErrs(t, ValidateCreate(bad), []want{{"addressType", field.ErrorTypeNotSupported, `"FQDN", "IPv4", "IPv6"`}})
	bad = es.DeepCopy()
	bad.Endpoints = append(bad.Endpoints, discoveryv1.Endpoint{}, discoveryv1.Endpoint{Addresses: []string{"fe80::1"}})
	checkErrs(t, ValidateCreate(bad), []want{
		{"endpoints[1].addresses", field.ErrorTypeRequired, "must contain at least 1 address"},
		{"endpoints[2].addresses[0]", field.ErrorTypeInvalid, "must be a valid IPv4 address"},
		{"endpoints[2].addresses[0]", field.ErrorTypeInvalid, "link-local"},
	})
	upd := es.DeepCopy()
	upd.AddressType = discoveryv1.AddressTypeIPv6
	upd.Endpoints[0].Addresses = []string{"2001:db8::1"}
	checkErrs(t, ValidateUpdate(upd, es), []want{{"addressType", field.ErrorTypeInvalid, "field is immutable"}})
}
