package printers

import (
	"testing"
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	fcboot "k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
)

func TestFlowcontrolRows(t *testing.T) {
	fs := fcboot.SuggestedFlowSchemaGlobalDefault.DeepCopy()
	fs.ObjectMeta = objMeta("global-default", time.Hour)
	checkCells(t, rowCells(t, flowSchemasGR, fs), []any{"global-default", "global-default", int64(9900), "ByUser", "60m", "?"})
	fs.Spec.DistinguisherMethod = nil
	fs.Status.Conditions = []flowcontrolv1.FlowSchemaCondition{{Type: flowcontrolv1.FlowSchemaConditionDangling, Status: flowcontrolv1.ConditionFalse}}
	checkCells(t, rowCells(t, flowSchemasGR, fs), []any{"global-default", "global-default", int64(9900), "<none>", "60m", "False"})

	pl := fcboot.MandatoryPriorityLevelConfigurationCatchAll.DeepCopy()
	pl.ObjectMeta = objMeta("catch-all", time.Minute)
	checkCells(t, rowCells(t, priorityLevelsGR, pl), []any{"catch-all", "Limited", int64(5), "<none>", "<none>", "<none>", "60s"})
	pl = fcboot.SuggestedPriorityLevelConfigurationWorkloadLow.DeepCopy()
	pl.ObjectMeta = objMeta("workload-low", time.Minute)
	checkCells(t, rowCells(t, priorityLevelsGR, pl), []any{"workload-low", "Limited", int64(100), int64(128), int64(6), int64(50), "60s"})
	pl = fcboot.MandatoryPriorityLevelConfigurationExempt.DeepCopy()
	pl.ObjectMeta = objMeta("exempt", time.Minute)
	checkCells(t, rowCells(t, priorityLevelsGR, pl), []any{"exempt", "Exempt", "<none>", "<none>", "<none>", "<none>", "60s"})
}
