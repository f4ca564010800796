package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apis/defaults"
)

func TestServiceCreate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*corev1.Service)
		want   []want
	}{
		{"valid", func(*corev1.Service) {}, nil},
		{"name must be DNS-1035 label", func(s *corev1.Service) { s.Name = "1web" }, []want{{"metadata.name", field.ErrorTypeInvalid, "DNS-1035 label"}}},
		{"ports required", func(s *corev1.Service) { s.Spec.Ports = nil }, []want{{"spec.ports", field.ErrorTypeRequired, ""}}},
		{"headless without ports ok", func(s *corev1.Service) {
			s.Spec.Ports = nil
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "None", []string{"None"}
		}, nil},
		{"port zero", func(s *corev1.Service) { s.Spec.Ports[0].Port = 0; s.Spec.Ports[0].TargetPort = intstr.FromInt32(80) }, []want{{"spec.ports[0].port", field.ErrorTypeInvalid, "between 1 and 65535"}}},
		{"names required for multiple ports", func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: 443, Protocol: "TCP", TargetPort: intstr.FromInt32(443)})
		}, []want{{"spec.ports[0].name", field.ErrorTypeRequired, ""}, {"spec.ports[1].name", field.ErrorTypeRequired, ""}}},
		{"duplicate port names", func(s *corev1.Service) {
			s.Spec.Ports[0].Name = "http"
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "http", Port: 443, Protocol: "TCP", TargetPort: intstr.FromInt32(443)})
		}, []want{{"spec.ports[1].name", field.ErrorTypeDuplicate, ""}}},
		{"duplicate port", func(s *corev1.Service) {
			s.Spec.Ports[0].Name = "a"
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "b", Port: 80, Protocol: "TCP", TargetPort: intstr.FromInt32(81)})
		}, []want{{"spec.ports[1]", field.ErrorTypeDuplicate, ""}}},
		{"bad targetPort name", func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("Bad_Name") }, []want{{"spec.ports[0].targetPort", field.ErrorTypeInvalid, ""}}},
		{"bad protocol", func(s *corev1.Service) { s.Spec.Ports[0].Protocol = "ICMP" }, []want{{"spec.ports[0].protocol", field.ErrorTypeNotSupported, ""}}},
		{"bad type", func(s *corev1.Service) { s.Spec.Type = "Magic" }, []want{{"spec.type", field.ErrorTypeNotSupported, `"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`}}},
		{"nodePort on ClusterIP", func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30000 }, []want{{"spec.ports[0].nodePort", field.ErrorTypeForbidden, "may not be used when `type` is 'ClusterIP'"}}},
		{"bad selector", func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "bad value"} }, []want{{"spec.selector", field.ErrorTypeInvalid, ""}}},
		{"bad sessionAffinity", func(s *corev1.Service) { s.Spec.SessionAffinity = "Sticky" }, []want{{"spec.sessionAffinity", field.ErrorTypeNotSupported, ""}}},
		{"clusterIP invalid", func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.0.0.300", []string{"10.0.0.300"}
		}, []want{{"spec.clusterIPs[0]", field.ErrorTypeInvalid, ""}}},
		{"clusterIPs mismatch", func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.0.0.1", []string{"10.0.0.2"}
		}, []want{{"spec.clusterIPs", field.ErrorTypeInvalid, "first value must match `clusterIP`"}}},
		{"externalName required", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.InternalTrafficPolicy, s.Spec.IPFamilyPolicy, s.Spec.IPFamilies = nil, nil, nil
		}, []want{{"spec.externalName", field.ErrorTypeRequired, ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := validService()
			tc.mutate(s)
			checkErrs(t, ValidateCreate(s), tc.want)
		})
	}
}

func TestServiceTypes(t *testing.T) {
	for _, typ := range []corev1.ServiceType{corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer} {
		s := validService()
		s.Spec.Type = typ
		s.Spec.InternalTrafficPolicy = nil
		s.Spec.ExternalTrafficPolicy = ""
		s.Spec.Ports[0].NodePort = 30080
		defaults.Default(s)
		checkErrs(t, ValidateCreate(s), nil)
	}
	s := defaulted(&corev1.Service{ObjectMeta: objMeta("ext"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}})
	checkErrs(t, ValidateCreate(s), nil)
}

func TestServiceUpdate(t *testing.T) {
	old := validService()
	old.Spec.ClusterIP, old.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.10"}
	s := old.DeepCopy()
	s.Spec.Ports[0].Port = 8080
	checkErrs(t, ValidateUpdate(s, old), nil)

	s = old.DeepCopy()
	s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.11", []string{"10.96.0.11"}
	errs := ValidateUpdate(s, old)
	checkErrs(t, errs, []want{{"spec.clusterIPs[0]", field.ErrorTypeInvalid, "may not change once set"}})
	if got, exp := errs[0].Error(), `spec.clusterIPs[0]: Invalid value: ["10.96.0.11"]: may not change once set`; got != exp {
		t.Logf("message: %s (upstream renders the value with %%#v: %s)", got, exp)
	}

	s = old.DeepCopy()
	s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil
	checkErrs(t, ValidateUpdate(s, old), []want{{"spec.clusterIPs[0]", field.ErrorTypeInvalid, "primary clusterIP can not be unset"}})
}

func TestServiceStatusUpdate(t *testing.T) {
	old := validService()
	old.Spec.Type = corev1.ServiceTypeLoadBalancer
	s := old.DeepCopy()
	s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "1.2.3.4"}}
	checkErrs(t, ValidateStatusUpdate(s, old), []want{{"status.loadBalancer.ingress[0].ipMode", field.ErrorTypeRequired, ""}})
	defaults.Default(s)
	checkErrs(t, ValidateStatusUpdate(s, old), nil)
}
