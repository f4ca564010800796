package metrics

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// usageRow is one row of a metrics table: a node's or pod's name, usage and window.
type usageRow struct {
	name   string
	usage  corev1.ResourceList
	window time.Duration
	obj    runtime.Object
}

// addRows writes metrics-server's table: Name, one column per resource of the first row (cpu,
// memory: sorted), Window; a table without rows has no columns.
func addRows(t *metav1.Table, rows []usageRow) {
	if len(rows) == 0 {
		return
	}
	var names []string
	for k := range rows[0].usage {
		names = append(names, string(k))
	}
	sort.Strings(names)
	t.ColumnDefinitions = []metav1.TableColumnDefinition{{Name: "Name", Type: "string", Format: "name", Description: "Name of the resource"}}
	for _, n := range names {
		t.ColumnDefinitions = append(t.ColumnDefinitions, metav1.TableColumnDefinition{Name: n, Type: "string", Format: "quantity"})
	}
	t.ColumnDefinitions = append(t.ColumnDefinitions, metav1.TableColumnDefinition{Name: "Window", Type: "string", Format: "duration"})
	for _, r := range rows {
		cells := make([]any, 0, len(names)+2)
		cells = append(cells, r.name)
		for _, n := range names {
			q := r.usage[corev1.ResourceName(n)]
			cells = append(cells, q.String())
		}
		cells = append(cells, r.window.String())
		t.Rows = append(t.Rows, metav1.TableRow{Cells: cells, Object: runtime.RawExtension{Object: r.obj}})
	}
}
