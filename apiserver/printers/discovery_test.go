package printers

import (
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
)

func TestEndpointSliceRows(t *testing.T) {
	port := func(n int32) discoveryv1.EndpointPort { return discoveryv1.EndpointPort{Port: &n} }
	named := func(name string) discoveryv1.EndpointPort { return discoveryv1.EndpointPort{Name: &name} }
	ep := func(addrs ...string) discoveryv1.Endpoint { return discoveryv1.Endpoint{Addresses: addrs} }

	tests := []struct {
		name      string
		slice     discoveryv1.EndpointSlice
		ports     string
		endpoints string
	}{
		{
			name: "empty",
			slice: discoveryv1.EndpointSlice{
				AddressType: discoveryv1.AddressTypeIPv4,
			},
			ports: "<unset>", endpoints: "<unset>",
		},
		{
			name: "simple",
			slice: discoveryv1.EndpointSlice{
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports:       []discoveryv1.EndpointPort{port(80)},
				Endpoints:   []discoveryv1.Endpoint{ep("10.0.0.1"), ep("10.0.0.2")},
			},
			ports: "80", endpoints: "10.0.0.1,10.0.0.2",
		},
		{
			name: "truncated",
			slice: discoveryv1.EndpointSlice{
				AddressType: discoveryv1.AddressTypeIPv6,
				Ports:       []discoveryv1.EndpointPort{port(80), named("https"), {}, port(9090), port(9091)},
				Endpoints:   []discoveryv1.Endpoint{ep("fd00::1", "fd00::2"), ep("fd00::3"), ep("fd00::4")},
			},
			ports: "80,https,* + 2 more...", endpoints: "fd00::1,fd00::2,fd00::3 + 1 more...",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.slice
			s.ObjectMeta = objMeta("web-abcde", 4*time.Minute)
			checkCells(t, rowCells(t, endpointSlicesGR, &s), []any{"web-abcde", string(s.AddressType), tt.ports, tt.endpoints, "4m"})
		})
	}
}
