package printers

import (
	"testing"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var pdbGR = schema.GroupResource{Group: "policy", Resource: "poddisruptionbudgets"}

func TestPodDisruptionBudgetRows(t *testing.T) {
	two, half := intstr.FromInt32(2), intstr.FromString("50%")
	tests := []struct {
		name string
		pdb  policyv1.PodDisruptionBudget
		want []any
	}{
		{"minAvailable count", policyv1.PodDisruptionBudget{ObjectMeta: objMeta("web", 5*time.Minute),
			Spec:   policyv1.PodDisruptionBudgetSpec{MinAvailable: &two},
			Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1}},
			[]any{"web", "2", "N/A", int64(1), "5m"}},
		{"maxUnavailable percent", policyv1.PodDisruptionBudget{ObjectMeta: objMeta("db", 3*time.Hour),
			Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &half}},
			[]any{"db", "N/A", "50%", int64(0), "3h"}},
		{"neither", policyv1.PodDisruptionBudget{ObjectMeta: objMeta("none", time.Minute)},
			[]any{"none", "N/A", "N/A", int64(0), "60s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCells(t, rowCells(t, pdbGR, &tt.pdb), tt.want)
		})
	}
}
