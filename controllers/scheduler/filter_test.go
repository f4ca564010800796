package scheduler

import (
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

func makeNode(name string, cpu, mem string, pods int64, mods ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse(cpu),
				corev1.ResourceMemory: resource.MustParse(mem),
				corev1.ResourcePods:   *resource.NewQuantity(pods, resource.DecimalSI),
			},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
	for _, m := range mods {
		m(n)
	}
	return n
}

func makePod(name string, cpu, mem string, mods ...func(*corev1.Pod)) *corev1.Pod {
	req := corev1.ResourceList{}
	if cpu != "" {
		req[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		req[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i",
			Resources: corev1.ResourceRequirements{Requests: req}}}},
	}
	for _, m := range mods {
		m(p)
	}
	return p
}

func infoFor(node *corev1.Node, pods ...*corev1.Pod) *nodeInfo {
	ni := newNodeInfo(node.Name)
	ni.setNode(node)
	for _, p := range pods {
		p.Spec.NodeName = node.Name
		ni.addPod(newPodInfo(p))
	}
	return ni
}

func withExtended(name corev1.ResourceName, q string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests[name] = resource.MustParse(q) }
}

func withAllocatable(name corev1.ResourceName, q string) func(*corev1.Node) {
	return func(n *corev1.Node) { n.Status.Allocatable[name] = resource.MustParse(q) }
}

func withTaint(key, value string, effect corev1.TaintEffect) func(*corev1.Node) {
	return func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Value: value, Effect: effect})
	}
}

func withToleration(t corev1.Toleration) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.Tolerations = append(p.Spec.Tolerations, t) }
}

func withHostPort(port int32, ip string, proto corev1.Protocol) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{ContainerPort: port, HostPort: port, HostIP: ip, Protocol: proto})
	}
}

func withRequired(terms ...corev1.NodeSelectorTerm) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
	}
}

func expr(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

func nodeLabels(kv ...string) func(*corev1.Node) {
	return func(n *corev1.Node) {
		for i := 0; i+1 < len(kv); i += 2 {
			n.Labels[kv[i]] = kv[i+1]
		}
	}
}

func TestFilterNode(t *testing.T) {
	existing := makePod("existing", "3", "1Gi")
	tests := []struct {
		name         string
		pod          *corev1.Pod
		node         *corev1.Node
		pods         []*corev1.Pod
		want         []string
		unresolvable bool
	}{
		{name: "fits", pod: makePod("p", "1", "1Gi"), node: makeNode("n", "4", "8Gi", 110)},
		{name: "best effort fits", pod: makePod("p", "", ""), node: makeNode("n", "4", "8Gi", 110)},
		{name: "insufficient cpu, resolvable", pod: makePod("p", "2", "1Gi"), node: makeNode("n", "4", "8Gi", 110),
			pods: []*corev1.Pod{existing}, want: []string{ReasonCPU}},
		{name: "larger than allocatable is unresolvable", pod: makePod("p", "8", "16Gi"), node: makeNode("n", "4", "8Gi", 110),
			want: []string{ReasonCPU, ReasonMemory}, unresolvable: true},
		{name: "too many pods", pod: makePod("p", "", ""), node: makeNode("n", "4", "8Gi", 1),
			pods: []*corev1.Pod{makePod("x", "", "")}, want: []string{ReasonTooManyPods}},
		{name: "ephemeral storage", pod: makePod("p", "", "", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceEphemeralStorage] = resource.MustParse("1Gi")
		}), node: makeNode("n", "4", "8Gi", 110), want: []string{ReasonEphemeral}, unresolvable: true},
		{name: "extended resource fits", pod: makePod("p", "", "", withExtended("example.com/gpu", "1")),
			node: makeNode("n", "4", "8Gi", 110, withAllocatable("example.com/gpu", "2")),
			pods: []*corev1.Pod{makePod("x", "", "", withExtended("example.com/gpu", "1"))}},
		{name: "extended resource used up, resolvable", pod: makePod("p", "", "", withExtended("example.com/gpu", "2")),
			node: makeNode("n", "4", "8Gi", 110, withAllocatable("example.com/gpu", "2")),
			pods: []*corev1.Pod{makePod("x", "", "", withExtended("example.com/gpu", "1"))}, want: []string{"Insufficient example.com/gpu"}},
		{name: "extended resource the node lacks", pod: makePod("p", "", "", withExtended("example.com/gpu", "1"), withExtended("hugepages-2Mi", "2Mi")),
			node: makeNode("n", "4", "8Gi", 110), want: []string{"Insufficient example.com/gpu", "Insufficient hugepages-2Mi"}, unresolvable: true},
		{name: "unschedulable node", pod: makePod("p", "", ""), node: makeNode("n", "4", "8Gi", 110, func(n *corev1.Node) { n.Spec.Unschedulable = true }),
			want: []string{ReasonUnschedulable}, unresolvable: true},
		{name: "unschedulable node tolerated", pod: makePod("p", "", "", withToleration(corev1.Toleration{Key: taintUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})),
			node: makeNode("n", "4", "8Gi", 110, func(n *corev1.Node) { n.Spec.Unschedulable = true })},
		{name: "NoSchedule taint", pod: makePod("p", "", ""), node: makeNode("n", "4", "8Gi", 110, withTaint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
			want: []string{"node(s) had untolerated taint {dedicated: gpu}"}, unresolvable: true},
		{name: "NoExecute taint", pod: makePod("p", "", ""), node: makeNode("n", "4", "8Gi", 110, withTaint(taintUnreachable, "", corev1.TaintEffectNoExecute)),
			want: []string{"node(s) had untolerated taint {node.kubernetes.io/unreachable: }"}, unresolvable: true},
		{name: "PreferNoSchedule does not filter", pod: makePod("p", "", ""), node: makeNode("n", "4", "8Gi", 110, withTaint("a", "b", corev1.TaintEffectPreferNoSchedule))},
		{name: "taint tolerated by Equal", pod: makePod("p", "", "", withToleration(corev1.Toleration{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule})),
			node: makeNode("n", "4", "8Gi", 110, withTaint("dedicated", "gpu", corev1.TaintEffectNoSchedule))},
		{name: "taint not tolerated: other value", pod: makePod("p", "", "", withToleration(corev1.Toleration{Key: "dedicated", Value: "cpu"})),
			node: makeNode("n", "4", "8Gi", 110, withTaint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
			want: []string{"node(s) had untolerated taint {dedicated: gpu}"}, unresolvable: true},
		{name: "tolerate everything", pod: makePod("p", "", "", withToleration(corev1.Toleration{Operator: corev1.TolerationOpExists})),
			node: makeNode("n", "4", "8Gi", 110, withTaint("dedicated", "gpu", corev1.TaintEffectNoSchedule), withTaint("x", "", corev1.TaintEffectNoExecute))},
		{name: "not ready node implies not-ready taint", pod: makePod("p", "", ""), node: makeNode("n", "4", "8Gi", 110, func(n *corev1.Node) {
			n.Status.Conditions[0].Status = corev1.ConditionFalse
		}), want: []string{"node(s) had untolerated taint {node.kubernetes.io/not-ready: }"}, unresolvable: true},
		{name: "unknown node implies unreachable taint", pod: makePod("p", "", ""), node: makeNode("n", "4", "8Gi", 110, func(n *corev1.Node) {
			n.Status.Conditions[0].Status = corev1.ConditionUnknown
		}), want: []string{"node(s) had untolerated taint {node.kubernetes.io/unreachable: }"}, unresolvable: true},
		{name: "nodeSelector matches", pod: makePod("p", "", "", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }),
			node: makeNode("n", "4", "8Gi", 110, nodeLabels("disk", "ssd"))},
		{name: "nodeSelector mismatch", pod: makePod("p", "", "", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }),
			node: makeNode("n", "4", "8Gi", 110, nodeLabels("disk", "hdd")), want: []string{ReasonNodeAffinity}, unresolvable: true},
		{name: "affinity In", pod: makePod("p", "", "", withRequired(expr("zone", corev1.NodeSelectorOpIn, "a", "b"))),
			node: makeNode("n", "4", "8Gi", 110, nodeLabels("zone", "b"))},
		{name: "affinity NotIn", pod: makePod("p", "", "", withRequired(expr("zone", corev1.NodeSelectorOpNotIn, "a", "b"))),
			node: makeNode("n", "4", "8Gi", 110, nodeLabels("zone", "b")), want: []string{ReasonNodeAffinity}, unresolvable: true},
		{name: "affinity NotIn, label absent", pod: makePod("p", "", "", withRequired(expr("zone", corev1.NodeSelectorOpNotIn, "a"))),
			node: makeNode("n", "4", "8Gi", 110)},
		{name: "affinity Exists", pod: makePod("p", "", "", withRequired(expr("gpu", corev1.NodeSelectorOpExists))),
			node: makeNode("n", "4", "8Gi", 110), want: []string{ReasonNodeAffinity}, unresolvable: true},
		{name: "affinity DoesNotExist", pod: makePod("p", "", "", withRequired(expr("gpu", corev1.NodeSelectorOpDoesNotExist))),
			node: makeNode("n", "4", "8Gi", 110)},
		{name: "affinity Gt", pod: makePod("p", "", "", withRequired(expr("cores", corev1.NodeSelectorOpGt, "8"))),
			node: makeNode("n", "4", "8Gi", 110, nodeLabels("cores", "16"))},
		{name: "affinity Lt fails", pod: makePod("p", "", "", withRequired(expr("cores", corev1.NodeSelectorOpLt, "8"))),
			node: makeNode("n", "4", "8Gi", 110, nodeLabels("cores", "16")), want: []string{ReasonNodeAffinity}, unresolvable: true},
		{name: "affinity Gt non-numeric label", pod: makePod("p", "", "", withRequired(expr("cores", corev1.NodeSelectorOpGt, "8"))),
			node: makeNode("n", "4", "8Gi", 110, nodeLabels("cores", "many")), want: []string{ReasonNodeAffinity}, unresolvable: true},
		{name: "affinity terms are ORed", pod: makePod("p", "", "", withRequired(expr("zone", corev1.NodeSelectorOpIn, "x"), expr("zone", corev1.NodeSelectorOpIn, "y"))),
			node: makeNode("n", "4", "8Gi", 110, nodeLabels("zone", "y"))},
		{name: "empty term matches nothing", pod: makePod("p", "", "", withRequired(corev1.NodeSelectorTerm{})),
			node: makeNode("n", "4", "8Gi", 110), want: []string{ReasonNodeAffinity}, unresolvable: true},
		{name: "matchFields metadata.name", pod: makePod("p", "", "", withRequired(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n"}}}})),
			node: makeNode("n", "4", "8Gi", 110)},
		{name: "matchFields other name", pod: makePod("p", "", "", withRequired(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"m"}}}})),
			node: makeNode("n", "4", "8Gi", 110), want: []string{ReasonNodeAffinity}, unresolvable: true},
		{name: "host port conflict", pod: makePod("p", "", "", withHostPort(80, "", "")), node: makeNode("n", "4", "8Gi", 110),
			pods: []*corev1.Pod{makePod("x", "", "", withHostPort(80, "", ""))}, want: []string{ReasonNodePorts}},
		{name: "host port other protocol", pod: makePod("p", "", "", withHostPort(80, "", corev1.ProtocolUDP)), node: makeNode("n", "4", "8Gi", 110),
			pods: []*corev1.Pod{makePod("x", "", "", withHostPort(80, "", ""))}},
		{name: "host port distinct IPs", pod: makePod("p", "", "", withHostPort(80, "10.0.0.1", "")), node: makeNode("n", "4", "8Gi", 110),
			pods: []*corev1.Pod{makePod("x", "", "", withHostPort(80, "10.0.0.2", ""))}},
		{name: "host port specific IP vs wildcard", pod: makePod("p", "", "", withHostPort(80, "10.0.0.1", "")), node: makeNode("n", "4", "8Gi", 110),
			pods: []*corev1.Pod{makePod("x", "", "", withHostPort(80, "0.0.0.0", ""))}, want: []string{ReasonNodePorts}},
		{name: "first failing filter wins", pod: makePod("p", "8", ""), node: makeNode("n", "4", "8Gi", 110, withTaint("a", "b", corev1.TaintEffectNoSchedule)),
			want: []string{"node(s) had untolerated taint {a: b}"}, unresolvable: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ni := infoFor(tc.node, tc.pods...)
			st := filterNode(newPendingPodInfo(tc.pod), ni, nil)
			got := st.reasons()
			if len(got) != len(tc.want) {
				t.Fatalf("reasons = %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("reasons = %q, want %q", got, tc.want)
				}
			}
			if len(tc.want) > 0 && st.unresolvable != tc.unresolvable {
				t.Errorf("unresolvable = %v, want %v", st.unresolvable, tc.unresolvable)
			}
		})
	}
}

func TestUnschedulableMessage(t *testing.T) {
	never := corev1.PreemptNever
	taint := corev1.Taint{Key: taintUnreachable}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		nodes    int
		statuses []nodeStatus
		want     string
	}{
		{name: "no nodes", pod: makePod("p", "", ""), want: "no nodes available to schedule pods"},
		{name: "too big everywhere", pod: makePod("p", "", ""), nodes: 3,
			statuses: []nodeStatus{{fail: failCPU, unresolvable: true}, {fail: failCPU, unresolvable: true}, {fail: failCPU, unresolvable: true}},
			want:     "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."},
		{name: "mixed, sorted as strings", pod: makePod("p", "", ""), nodes: 3,
			statuses: []nodeStatus{{fail: failCPU | failMemory, unresolvable: true}, {fail: failCPU, unresolvable: true}, {fail: failTaint, taint: &taint, unresolvable: true}},
			want:     "0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."},
		{name: "resolvable by preemption", pod: makePod("p", "", ""), nodes: 2,
			statuses: []nodeStatus{{fail: failCPU}, {fail: failAffinity, unresolvable: true}},
			want:     "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."},
		{name: "preemptionPolicy Never", pod: makePod("p", "", "", func(p *corev1.Pod) { p.Spec.PreemptionPolicy = &never }), nodes: 1,
			statuses: []nodeStatus{{fail: failCPU}},
			want:     "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := unschedulableMessage(tc.pod, tc.nodes, tc.statuses); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestNumFeasibleNodesToFind(t *testing.T) {
	for _, tc := range []struct{ pct, nodes, want int32 }{
		{0, 10, 10}, {0, 99, 99}, {0, 100, 50 * 100 / 100}, {0, 500, 500 * 46 / 100},
		{0, 1000, 420}, {0, 5000, 500}, {0, 6000, 300}, {0, 20000, 1000}, {10, 500, 100}, {100, 5000, 5000},
	} {
		got := numFeasibleNodesToFind(tc.pct, tc.nodes)
		want := max(tc.want, min(tc.nodes, 100))
		if got != want {
			t.Errorf("numFeasibleNodesToFind(%d, %d) = %d, want %d", tc.pct, tc.nodes, got, want)
		}
	}
}

func TestPodRequests(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	pod := makePod("p", "500m", "1Gi", func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "b", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}}})
		p.Spec.InitContainers = []corev1.Container{
			{Name: "sidecar", RestartPolicy: &always, Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}},
			{Name: "init", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("512Mi")}}},
		}
		p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")}
	})
	got := podRequests(pod, false)
	// containers 750m + sidecar 100m = 850m; init 2 + sidecar 100m = 2100m wins; + 10m overhead.
	if got.MilliCPU != 2110 || got.Memory != 1<<30 {
		t.Errorf("requests = %+v", got)
	}
	nz := podRequests(makePod("q", "", ""), true)
	if nz.MilliCPU != defaultMilliCPURequest || nz.Memory != defaultMemoryRequest {
		t.Errorf("non-zero requests = %+v", nz)
	}
}

// A resized pod counts the larger of its spec and what its node allocated and actuated, unless
// the node found the resize infeasible (upstream's PodRequests with UseStatusResources).
func TestPodRequestsResize(t *testing.T) {
	list := func(cpu string) corev1.ResourceList {
		return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
	}
	status := func(allocated, actuated string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			cs := corev1.ContainerStatus{Name: p.Spec.Containers[0].Name, AllocatedResources: list(allocated)}
			if actuated != "" {
				cs.Resources = &corev1.ResourceRequirements{Requests: list(actuated)}
			}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
		}
	}
	pending := func(reason string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodResizePending, Status: corev1.ConditionTrue, Reason: reason}}
		}
	}
	for _, tc := range []struct {
		name string
		spec string
		opts []func(*corev1.Pod)
		want int64
	}{
		{"no status", "500m", nil, 500},
		{"resize up pending", "2", []func(*corev1.Pod){status("500m", "500m"), pending(corev1.PodReasonDeferred)}, 2000},
		{"resize up infeasible", "8", []func(*corev1.Pod){status("500m", "500m"), pending(corev1.PodReasonInfeasible)}, 500},
		{"resize down not actuated yet", "200m", []func(*corev1.Pod){status("200m", "500m")}, 500},
		{"resize down allocated and actuated", "200m", []func(*corev1.Pod){status("200m", "200m")}, 200},
		{"allocated only", "200m", []func(*corev1.Pod){status("700m", "")}, 700},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := podRequests(makePod("p", tc.spec, "", tc.opts...), false); got.MilliCPU != tc.want {
				t.Errorf("cpu = %dm, want %dm", got.MilliCPU, tc.want)
			}
		})
	}
}

func TestSelectHostScores(t *testing.T) {
	sc := scorer{rnd: rand.New(rand.NewPCG(1, 2))}
	owner := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "rs-uid", Controller: ptr(true)}
	owned := func(p *corev1.Pod) { p.OwnerReferences = []metav1.OwnerReference{owner} }

	t.Run("least allocated", func(t *testing.T) {
		a := infoFor(makeNode("a", "4", "8Gi", 110), makePod("x", "2", "4Gi"))
		b := infoFor(makeNode("b", "4", "8Gi", 110))
		if got := sc.selectHost(newPendingPodInfo(makePod("p", "1", "1Gi")), []*nodeInfo{a, b}, []*nodeInfo{a, b}, noNamespaces); got != b {
			t.Errorf("picked %s, want b", got.name)
		}
	})
	t.Run("spread owner", func(t *testing.T) {
		a := infoFor(makeNode("a", "4", "8Gi", 110), makePod("x", "", "", owned))
		b := infoFor(makeNode("b", "4", "8Gi", 110), makePod("y", "", ""))
		if got := sc.selectHost(newPendingPodInfo(makePod("p", "", "", owned)), []*nodeInfo{a, b}, []*nodeInfo{a, b}, noNamespaces); got != b {
			t.Errorf("picked %s, want b", got.name)
		}
	})
	t.Run("PreferNoSchedule", func(t *testing.T) {
		a := infoFor(makeNode("a", "4", "8Gi", 110, withTaint("k", "v", corev1.TaintEffectPreferNoSchedule)))
		b := infoFor(makeNode("b", "4", "8Gi", 110, withTaint("k", "v", corev1.TaintEffectPreferNoSchedule)), makePod("y", "1", "1Gi"))
		c := infoFor(makeNode("c", "4", "8Gi", 110), makePod("z", "1", "1Gi"))
		if got := sc.selectHost(newPendingPodInfo(makePod("p", "", "")), []*nodeInfo{a, b, c}, []*nodeInfo{a, b, c}, noNamespaces); got != c {
			t.Errorf("picked %s, want c", got.name)
		}
		tol := withToleration(corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectPreferNoSchedule})
		if got := sc.selectHost(newPendingPodInfo(makePod("p", "", "", tol)), []*nodeInfo{a, b, c}, []*nodeInfo{a, b, c}, noNamespaces); got != a {
			t.Errorf("tolerating pod picked %s, want a", got.name)
		}
	})
	t.Run("preferred affinity", func(t *testing.T) {
		a := infoFor(makeNode("a", "4", "8Gi", 110, nodeLabels("zone", "x")))
		b := infoFor(makeNode("b", "4", "8Gi", 110, nodeLabels("zone", "y")), makePod("y", "1", "1Gi"))
		pod := makePod("p", "", "", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{
				{Weight: 50, Preference: expr("zone", corev1.NodeSelectorOpIn, "y")}}}}
		})
		if got := sc.selectHost(newPendingPodInfo(pod), []*nodeInfo{a, b}, []*nodeInfo{a, b}, noNamespaces); got != b {
			t.Errorf("picked %s, want b", got.name)
		}
	})
	t.Run("balanced", func(t *testing.T) {
		// Same free fraction on average, but a's cpu and memory use diverge.
		if s := balancedScore(newPendingPodInfo(makePod("p", "2", "4Gi")), infoFor(makeNode("a", "4", "8Gi", 110))); s != 100 {
			t.Errorf("balanced = %d, want 100", s)
		}
		if s := balancedScore(newPendingPodInfo(makePod("p", "4", "0")), infoFor(makeNode("a", "4", "8Gi", 110))); s != 50 {
			t.Errorf("balanced = %d, want 50", s)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestCacheAssumeAndConfirm(t *testing.T) {
	c := newSchedCache()
	c.setNode(makeNode("a", "4", "8Gi", 110))
	pod := makePod("p", "1", "1Gi")
	c.assume(newPendingPodInfo(pod), "a")
	if got := c.infos["a"].requested.MilliCPU; got != 1000 {
		t.Fatalf("assumed requested cpu = %d", got)
	}
	bound := pod.DeepCopy()
	bound.Spec.NodeName = "a"
	c.addPod(bound)
	if c.assumed[pod.UID] || c.infos["a"].numPods != 1 || c.infos["a"].requested.MilliCPU != 1000 {
		t.Fatalf("after confirm: assumed=%v pods=%d cpu=%d", c.assumed[pod.UID], c.infos["a"].numPods, c.infos["a"].requested.MilliCPU)
	}
	c.forget(pod.UID) // confirmed pods stay
	if c.infos["a"].numPods != 1 {
		t.Fatal("forget removed a confirmed pod")
	}
	c.removePodUID(pod.UID)
	if c.infos["a"].numPods != 0 || c.infos["a"].requested.MilliCPU != 0 {
		t.Fatal("remove left aggregates")
	}
	c.removeNode("a")
	if len(c.nodes) != 0 || len(c.infos) != 0 {
		t.Fatal("removeNode left entries")
	}
}

func noNamespaces(string) labels.Set { return nil }
