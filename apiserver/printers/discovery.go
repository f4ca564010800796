package printers

import (
	"strconv"

	discoveryv1 "k8s.io/api/discovery/v1"
	discoveryv1beta1 "k8s.io/api/discovery/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func init() {
	register(schema.GroupResource{Group: discoveryv1.GroupName, Resource: "endpointslices"},
		newConvertor(endpointSliceColumns, func(l *discoveryv1.EndpointSliceList) []discoveryv1.EndpointSlice { return l.Items }, printEndpointSlice))
}

// kube-apiserver takes these descriptions from the discovery/v1beta1 docs.
var endpointSliceColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "AddressType", Type: "string", Description: discoveryv1beta1.EndpointSlice{}.SwaggerDoc()["addressType"]},
	{Name: "Ports", Type: "string", Description: discoveryv1beta1.EndpointSlice{}.SwaggerDoc()["ports"]},
	{Name: "Endpoints", Type: "string", Description: discoveryv1beta1.EndpointSlice{}.SwaggerDoc()["endpoints"]},
	ageColumn,
}

func printEndpointSlice(s *discoveryv1.EndpointSlice) metav1.TableRow {
	return cells(s.Name, string(s.AddressType), formatDiscoveryPorts(s.Ports), formatDiscoveryEndpoints(s.Endpoints), translateTimestampSince(s.CreationTimestamp))
}

// formatDiscoveryPorts lists up to three port numbers (the name when the number is unset, "*"
// when both are), then " + N more...".
func formatDiscoveryPorts(ports []discoveryv1.EndpointPort) string {
	const max = 3
	var list []string
	more := false
	count := 0
	for _, port := range ports {
		if len(list) < max {
			portNum := "*"
			if port.Port != nil {
				portNum = strconv.Itoa(int(*port.Port))
			} else if port.Name != nil {
				portNum = *port.Name
			}
			list = append(list, portNum)
		} else if len(list) == max {
			more = true
		}
		count++
	}
	return listWithMoreString(list, more, count, max)
}

// formatDiscoveryEndpoints lists up to three addresses across all endpoints, then " + N more...".
func formatDiscoveryEndpoints(endpoints []discoveryv1.Endpoint) string {
	const max = 3
	var list []string
	more := false
	count := 0
	for _, ep := range endpoints {
		for _, addr := range ep.Addresses {
			if len(list) < max {
				list = append(list, addr)
			} else if len(list) == max {
				more = true
			}
			count++
		}
	}
	return listWithMoreString(list, more, count, max)
}
