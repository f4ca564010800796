package defaults

import (
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
)

// Upstream's flowcontrol/v1 defaults (pkg/apis/flowcontrol/v1/defaults.go).
const (
	flowSchemaDefaultMatchingPrecedence          int32 = 1000
	priorityLevelDefaultHandSize                 int32 = 8
	priorityLevelDefaultQueues                   int32 = 64
	priorityLevelDefaultQueueLengthLimit         int32 = 50
	priorityLevelDefaultNominalConcurrencyShares int32 = 30
)

// defaultFlowSchema is SetDefaults_FlowSchemaSpec: matchingPrecedence 1000.
func defaultFlowSchema(fs *flowcontrolv1.FlowSchema) {
	if fs.Spec.MatchingPrecedence == 0 {
		fs.Spec.MatchingPrecedence = flowSchemaDefaultMatchingPrecedence
	}
}

// defaultPriorityLevelConfiguration is SetDefaults_ExemptPriorityLevelConfiguration,
// SetDefaults_LimitedPriorityLevelConfiguration and SetDefaults_QueuingConfiguration: exempt
// levels get nominalConcurrencyShares and lendablePercent 0, limited ones 30 shares and 0 %, and
// queuing 64 queues, hand size 8 and queue length limit 50.
func defaultPriorityLevelConfiguration(pl *flowcontrolv1.PriorityLevelConfiguration) {
	if e := pl.Spec.Exempt; e != nil {
		if e.NominalConcurrencyShares == nil {
			e.NominalConcurrencyShares = ptrTo(int32(0))
		}
		if e.LendablePercent == nil {
			e.LendablePercent = ptrTo(int32(0))
		}
	}
	l := pl.Spec.Limited
	if l == nil {
		return
	}
	if l.NominalConcurrencyShares == nil {
		l.NominalConcurrencyShares = ptrTo(priorityLevelDefaultNominalConcurrencyShares)
	}
	if l.LendablePercent == nil {
		l.LendablePercent = ptrTo(int32(0))
	}
	if q := l.LimitResponse.Queuing; q != nil {
		if q.HandSize == 0 {
			q.HandSize = priorityLevelDefaultHandSize
		}
		if q.Queues == 0 {
			q.Queues = priorityLevelDefaultQueues
		}
		if q.QueueLengthLimit == 0 {
			q.QueueLengthLimit = priorityLevelDefaultQueueLengthLimit
		}
	}
}
