package printers

import (
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func init() {
	register(schema.GroupResource{Group: policyv1.GroupName, Resource: "poddisruptionbudgets"},
		newConvertor(podDisruptionBudgetColumns, func(l *policyv1.PodDisruptionBudgetList) []policyv1.PodDisruptionBudget { return l.Items }, printPodDisruptionBudget))
}

var podDisruptionBudgetColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Min Available", Type: "string", Description: "The minimum number of pods that must be available."},
	{Name: "Max Unavailable", Type: "string", Description: "The maximum number of pods that may be unavailable."},
	{Name: "Allowed Disruptions", Type: "integer", Description: "Calculated number of pods that may be disrupted at this time."},
	ageColumn,
}

func printPodDisruptionBudget(pdb *policyv1.PodDisruptionBudget) metav1.TableRow {
	return cells(pdb.Name, intOrPercentOrNA(pdb.Spec.MinAvailable), intOrPercentOrNA(pdb.Spec.MaxUnavailable),
		int64(pdb.Status.DisruptionsAllowed), translateTimestampSince(pdb.CreationTimestamp))
}

// intOrPercentOrNA prints an optional count or percentage, "N/A" when unset, as kubectl does.
func intOrPercentOrNA(v *intstr.IntOrString) string {
	if v == nil {
		return "N/A"
	}
	return v.String()
}
