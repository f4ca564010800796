package scheduler

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-dev/skiff/insight/scheddiag"
)

func TestDiagnoseNodes(t *testing.T) {
	identity := func(_ *podInfo, ni *nodeInfo) *nodeInfo { return ni }
	busy := makePod("busy", "1500m", "1Gi")
	nodes := []*nodeInfo{
		infoFor(makeNode("small", "2", "4Gi", 110), busy),
		infoFor(makeNode("tainted", "8", "16Gi", 110, withTaint("dedicated", "gpu", corev1.TaintEffectNoSchedule))),
		infoFor(makeNode("labelled", "8", "16Gi", 110)),
		infoFor(makeNode("ports", "8", "16Gi", 110), makePod("web", "", "", withHostPort(8080, "", corev1.ProtocolTCP))),
	}
	pod := makePod("p", "1", "512Mi", withHostPort(8080, "", corev1.ProtocolTCP), func(p *corev1.Pod) {
		p.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	})
	pi := newPendingPodInfo(pod)
	statuses := make([]nodeStatus, len(nodes))
	for i, ni := range nodes {
		statuses[i] = filterNode(pi, ni, nil)
	}
	got := diagnoseNodes(pi, nodes, statuses, identity)
	if len(got) != 4 {
		t.Fatalf("%d nodes", len(got))
	}
	tests := []struct {
		node, filter string
		taint        string
		selector     string
		ports        []string
		cpu          *scheddiag.Resource
	}{
		{node: "tainted", filter: "TaintToleration", taint: "dedicated=gpu:NoSchedule"},
		{node: "labelled", filter: "NodeAffinity", selector: "nodeSelector disk=ssd"},
	}
	byNode := map[string]scheddiag.NodeDiagnosis{}
	for _, d := range got {
		byNode[d.Node] = d
	}
	for _, tc := range tests {
		d := byNode[tc.node]
		if d.Filter != tc.filter || d.Taint != tc.taint || d.NodeSelector != tc.selector {
			t.Errorf("%s: %+v", tc.node, d)
		}
	}
	// The small node carries the selector label to reach the resource filter.
	nodes[0].node.Labels["disk"] = "ssd"
	nodes[3].node.Labels["disk"] = "ssd"
	statuses[0], statuses[3] = filterNode(pi, nodes[0], nil), filterNode(pi, nodes[3], nil)
	got = diagnoseNodes(pi, nodes, statuses, identity)
	small := got[0]
	if small.Filter != "NodeResourcesFit" || !reflect.DeepEqual(small.Reasons, []string{ReasonCPU}) {
		t.Errorf("small: %+v", small)
	}
	wantCPU := scheddiag.Resource{Name: "cpu", Requested: 1000, Allocatable: 2000, Used: 1500, Insufficient: true}
	wantMem := scheddiag.Resource{Name: "memory", Requested: 512 << 20, Allocatable: 4 << 30, Used: 1 << 30}
	wantPods := scheddiag.Resource{Name: "pods", Requested: 1, Allocatable: 110, Used: 1}
	if !reflect.DeepEqual(small.Resources, []scheddiag.Resource{wantPods, wantCPU, wantMem}) {
		t.Errorf("small resources: %+v", small.Resources)
	}
	if !small.PreemptionMayHelp {
		t.Errorf("small: preemption could free cpu")
	}
	if p := got[3]; p.Filter != "NodePorts" || !reflect.DeepEqual(p.Ports, []string{"TCP/8080"}) {
		t.Errorf("ports: %+v", p)
	}
}
