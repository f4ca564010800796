package defaults

import (
	"reflect"
	"testing"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
)

func TestFlowcontrolDefaults(t *testing.T) {
	limited := func(l *flowcontrolv1.LimitedPriorityLevelConfiguration) *flowcontrolv1.PriorityLevelConfiguration {
		return &flowcontrolv1.PriorityLevelConfiguration{Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited, Limited: l}}
	}
	queue := func(q *flowcontrolv1.QueuingConfiguration) flowcontrolv1.LimitResponse {
		return flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeQueue, Queuing: q}
	}
	for _, tt := range []struct {
		name     string
		obj, out *flowcontrolv1.PriorityLevelConfiguration
	}{
		{"limited, queuing: 30 shares, 0 %, 64 queues of 50, hand 8",
			limited(&flowcontrolv1.LimitedPriorityLevelConfiguration{LimitResponse: queue(&flowcontrolv1.QueuingConfiguration{})}),
			limited(&flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: ptrTo(int32(30)), LendablePercent: ptrTo(int32(0)),
				LimitResponse: queue(&flowcontrolv1.QueuingConfiguration{Queues: 64, HandSize: 8, QueueLengthLimit: 50})})},
		{"set values kept; 0 shares stay 0",
			limited(&flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: ptrTo(int32(0)), LendablePercent: ptrTo(int32(10)),
				LimitResponse: queue(&flowcontrolv1.QueuingConfiguration{Queues: 2, HandSize: 1, QueueLengthLimit: 3})}),
			limited(&flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: ptrTo(int32(0)), LendablePercent: ptrTo(int32(10)),
				LimitResponse: queue(&flowcontrolv1.QueuingConfiguration{Queues: 2, HandSize: 1, QueueLengthLimit: 3})})},
		{"reject", limited(&flowcontrolv1.LimitedPriorityLevelConfiguration{LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeReject}}),
			limited(&flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: ptrTo(int32(30)), LendablePercent: ptrTo(int32(0)),
				LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeReject}})},
		{"exempt: 0 shares, 0 %",
			&flowcontrolv1.PriorityLevelConfiguration{Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementExempt,
				Exempt: &flowcontrolv1.ExemptPriorityLevelConfiguration{}}},
			&flowcontrolv1.PriorityLevelConfiguration{Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementExempt,
				Exempt: &flowcontrolv1.ExemptPriorityLevelConfiguration{NominalConcurrencyShares: ptrTo(int32(0)), LendablePercent: ptrTo(int32(0))}}}},
	} {
		Default(tt.obj)
		if !reflect.DeepEqual(tt.obj, tt.out) {
			t.Errorf("%s: got %+v, want %+v", tt.name, tt.obj.Spec, tt.out.Spec)
		}
	}
	for _, tt := range []struct{ in, want int32 }{{0, 1000}, {500, 500}} {
		fs := &flowcontrolv1.FlowSchema{Spec: flowcontrolv1.FlowSchemaSpec{MatchingPrecedence: tt.in}}
		Default(fs)
		if fs.Spec.MatchingPrecedence != tt.want {
			t.Errorf("matchingPrecedence %d: got %d, want %d", tt.in, fs.Spec.MatchingPrecedence, tt.want)
		}
	}
}
