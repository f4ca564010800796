package printers

import (
	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func init() {
	register(schema.GroupResource{Group: nodev1.GroupName, Resource: "runtimeclasses"}, newConvertor(runtimeClassColumns,
		func(l *nodev1.RuntimeClassList) []nodev1.RuntimeClass { return l.Items }, printRuntimeClass))
}

// runtimeClassColumns are upstream's (NAME HANDLER AGE).
var runtimeClassColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Handler", Type: "string", Description: nodev1.RuntimeClass{}.SwaggerDoc()["handler"]},
	ageColumn,
}

func printRuntimeClass(rc *nodev1.RuntimeClass) metav1.TableRow {
	return cells(rc.Name, rc.Handler, translateTimestampSince(rc.CreationTimestamp))
}
