package printers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Tables of resourcequotas and limitranges, with kube-apiserver's columns.

func init() {
	register(core("resourcequotas"), newConvertor(resourceQuotaColumns, func(l *corev1.ResourceQuotaList) []corev1.ResourceQuota { return l.Items }, printResourceQuota))
	register(core("limitranges"), newConvertor(limitRangeColumns, func(l *corev1.LimitRangeList) []corev1.LimitRange { return l.Items }, printLimitRange))
}

var resourceQuotaColumns = []metav1.TableColumnDefinition{
	nameColumn,
	ageColumn,
	{Name: "Request", Type: "string", Description: "Request represents a minimum amount of cpu/memory that a container may consume."},
	{Name: "Limit", Type: "string", Description: "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."},
}

// printResourceQuota lists "name: used/hard" per spec.hard resource, limits.* in the Limit column
// and everything else in the Request column, sorted by name.
func printResourceQuota(q *corev1.ResourceQuota) metav1.TableRow {
	names := make([]string, 0, len(q.Spec.Hard))
	for name := range q.Spec.Hard {
		names = append(names, string(name))
	}
	sort.Strings(names)
	var requests, limits []string
	for _, name := range names {
		used := q.Status.Used[corev1.ResourceName(name)]
		hard := q.Status.Hard[corev1.ResourceName(name)]
		entry := fmt.Sprintf("%s: %s/%s", name, used.String(), hard.String())
		if pieces := strings.Split(name, "."); len(pieces) > 1 && pieces[0] == "limits" {
			limits = append(limits, entry)
		} else {
			requests = append(requests, entry)
		}
	}
	return cells(q.Name, translateTimestampSince(q.CreationTimestamp), strings.Join(requests, ", "), strings.Join(limits, ", "))
}

var limitRangeColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Created At", Type: "date", Description: objectMetaDoc["creationTimestamp"]},
}

func printLimitRange(lr *corev1.LimitRange) metav1.TableRow {
	return cells(lr.Name, lr.CreationTimestamp.UTC().Format(time.RFC3339))
}
