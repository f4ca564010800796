package printers

import (
	"testing"
	"time"

	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRuntimeClassRows(t *testing.T) {
	rc := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "gvisor", CreationTimestamp: ago(3 * time.Hour)}, Handler: "runsc"}
	checkCells(t, rowCells(t, runtimeClassesGR, rc), []any{"gvisor", "runsc", "3h"})
}
