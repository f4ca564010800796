package traces_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"

	chaosv1alpha1 "github.com/skiff-dev/skiff/apis/chaos/v1alpha1"
	"github.com/skiff-dev/skiff/controllers/controllermanager"
	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/nodeagent/faults"
	"github.com/skiff-dev/skiff/nodeagent/simulated"
	"github.com/skiff-dev/skiff/test/poll"
	"github.com/skiff-dev/skiff/testenv"
)

// The stories of issue 16 that a cluster of simulated nodes can tell (testenv's explicit
// simulated mode: no containers, so no agent or runtime spans; test/e2e has those): a
// Deployment's rollout, a pod that is deleted and replaced, and a node silenced by a
// NodeHeartbeat Fault whose pods are evicted and replaced elsewhere, each read from
// /insight/v1/traces as `skiff trace` reads it.

// story asks the API server for the spans about uids, as `skiff trace` does.
func story(t *testing.T, env *testenv.Env, uids []types.UID, ancestors ...types.UID) []trace.Span {
	t.Helper()
	q := url.Values{}
	for _, u := range uids {
		q.Add("uid", string(u))
	}
	for _, u := range ancestors {
		q.Add("ancestor", string(u))
	}
	return storyOf(t, env, q)
}

// storyOf asks the API server for the spans with the query q.
func storyOf(t *testing.T, env *testenv.Env, q url.Values) []trace.Span {
	t.Helper()
	req := env.Clientset.Discovery().RESTClient().Get().AbsPath(trace.Path)
	for k, vs := range q {
		for _, v := range vs {
			req = req.Param(k, v)
		}
	}
	raw, err := req.Do(context.Background()).Raw()
	if err != nil {
		t.Fatalf("reading %s: %v", trace.Path, err)
	}
	var resp trace.Response
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Spans
}

// step is one expected span of a story.
type step struct {
	what string
	is   func(trace.Span) bool
}

func named(name string) func(trace.Span) bool {
	return func(sp trace.Span) bool { return sp.Name == name }
}

// about matches a span of component kind (insight/trace.Kind) or component with name about the
// object uid (its object, or an effect or cause).
func about(component, name string, uid types.UID) func(trace.Span) bool {
	return func(sp trace.Span) bool {
		if component != "" && sp.Component != component && trace.Kind(sp.Component) != component {
			return false
		}
		if name != "" && sp.Name != name {
			return false
		}
		if uid == "" {
			return true
		}
		if sp.Attributes[trace.AttrUID] == string(uid) {
			return true
		}
		for _, k := range []string{trace.AttrEffectUIDs, trace.AttrCauseUIDs, trace.AttrRelatedUIDs} {
			for _, u := range strings.Split(sp.Attributes[k], ",") {
				if u == string(uid) {
					return true
				}
			}
		}
		return false
	}
}

// apiWrite matches the API server's span of a write of verb (POST, PUT, PATCH, DELETE) on the
// object uid (the request span carries the method and the object's attributes).
func apiWrite(verb string, uid types.UID) func(trace.Span) bool {
	return func(sp trace.Span) bool {
		return sp.Component == trace.ComponentAPIServer && sp.Attributes[trace.AttrUID] == string(uid) && sp.Attributes["http.request.method"] == verb
	}
}

// inOrder finds the steps among spans one after the other (each starting no earlier than the
// previous one) and returns their indexes; it fails the test with the spans when one is missing.
func inOrder(t *testing.T, spans []trace.Span, steps ...step) []int {
	t.Helper()
	var at []int
	i, from := 0, time.Time{}
	for _, s := range steps {
		found := -1
		for j := 0; j < len(spans); j++ {
			if !spans[j].Start.Before(from) && s.is(spans[j]) {
				found = j
				break
			}
		}
		if found < 0 {
			dump(t, spans)
			t.Fatalf("step %d (%s) not found after %v among %d spans", i, s.what, from.Format(time.StampMicro), len(spans))
		}
		at = append(at, found)
		from = spans[found].Start
		i++
	}
	return at
}

func dump(t *testing.T, spans []trace.Span) {
	t.Helper()
	for _, sp := range spans {
		t.Logf("%s %-28s %-22s caller %-20s %v", sp.Start.Format("15:04:05.000000"), sp.Component, sp.Name, sp.Caller, sp.Attributes)
	}
}

func deployment(name, image string, replicas int32, tolerate *int64) *appsv1.Deployment {
	l := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: l},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
			},
		},
	}
	if tolerate != nil {
		for _, key := range []string{corev1.TaintNodeUnreachable, corev1.TaintNodeNotReady} {
			d.Spec.Template.Spec.Tolerations = append(d.Spec.Template.Spec.Tolerations, corev1.Toleration{Key: key,
				Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: tolerate})
		}
	}
	return d
}

// pods lists the pods of app, running (bound, not being deleted) ones only when live.
func pods(t *testing.T, env *testenv.Env, ns, app string, live bool) []corev1.Pod {
	t.Helper()
	list, err := env.Clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if !live || p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			out = append(out, p)
		}
	}
	return out
}

func waitPods(t *testing.T, env *testenv.Env, ns, app string, n int, ok func([]corev1.Pod) bool) []corev1.Pod {
	t.Helper()
	var got []corev1.Pod
	poll.Eventually(t, fmt.Sprintf("%d running pods of %s", n, app), poll.Check(func() (bool, string) {
		got = pods(t, env, ns, app, true)
		return len(got) == n && (ok == nil || ok(got)), fmt.Sprintf("%d running", len(got))
	}))
	return got
}

func TestStoryOfARollout(t *testing.T) {
	env := testenv.Start(t, testenv.WithTracing(), testenv.WithSimulatedNodes(2))
	ns := env.Namespace(t)
	ctx := context.Background()
	d, err := env.Clientset.AppsV1().Deployments(ns).Create(ctx, deployment("web", "busybox:1", 2, nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old := waitPods(t, env, ns, "web", 2, nil)
	// kubectl set image
	patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"busybox:2"}]}}}}`)
	if _, err := env.Clientset.AppsV1().Deployments(ns).Patch(ctx, "web", types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	fresh := waitPods(t, env, ns, "web", 2, func(ps []corev1.Pod) bool {
		for _, p := range ps {
			if p.Spec.Containers[0].Image != "busybox:2" {
				return false
			}
		}
		return len(pods(t, env, ns, "web", false)) == 2 // the old ones are gone
	})
	rss, err := env.Clientset.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(rss.Items) != 2 {
		t.Fatalf("ReplicaSets %v %v", rss, err)
	}
	var newRS, oldRS types.UID
	for _, rs := range rss.Items {
		if rs.Spec.Template.Spec.Containers[0].Image == "busybox:2" {
			newRS = rs.UID
		} else {
			oldRS = rs.UID
		}
	}
	spans := story(t, env, []types.UID{d.UID})
	// The rollout, in time order: the Deployment controller makes the new ReplicaSet and
	// scales it up, the ReplicaSet controller creates a new pod, the scheduler binds it; the
	// old ReplicaSet is scaled down and its pods deleted.
	inOrder(t, spans,
		step{"the patch of the Deployment", apiWrite("PATCH", d.UID)},
		step{"the Deployment controller's reconcile", about("controller:deployment", "reconcile Deployment", d.UID)},
		step{"the new ReplicaSet created", apiWrite("POST", newRS)},
		step{"the new ReplicaSet's reconcile creating a pod", about("controller:replicaset", "reconcile ReplicaSet", fresh[0].UID)},
		step{"a new pod created", apiWrite("POST", fresh[0].UID)},
		step{"the new pod scheduled", about("scheduler", "schedule Pod", fresh[0].UID)},
		step{"the new pod's status written", apiWrite("PUT", fresh[0].UID)},
	)
	inOrder(t, spans,
		step{"the new ReplicaSet created", apiWrite("POST", newRS)},
		step{"the old ReplicaSet scaled down", apiWrite("PUT", oldRS)},
		step{"its reconcile deleting an old pod", about("controller:replicaset", "reconcile ReplicaSet", oldRS)},
		step{"an old pod deleted", func(sp trace.Span) bool {
			return apiWrite("DELETE", old[0].UID)(sp) || apiWrite("DELETE", old[1].UID)(sp)
		}},
	)
	for _, p := range append(old, fresh...) {
		if i := inOrder(t, spans, step{"a span of pod " + p.Name, about("", "", p.UID)}); len(i) != 1 {
			t.Errorf("pod %s missing", p.Name)
		}
	}
	t.Logf("rollout story: %d spans\n%s", len(spans), trace.Render(spans))
}

func TestStoryOfAReplacedPod(t *testing.T) {
	env := testenv.Start(t, testenv.WithTracing(), testenv.WithSimulatedNodes(1))
	ns := env.Namespace(t)
	ctx := context.Background()
	if _, err := env.Clientset.AppsV1().Deployments(ns).Create(ctx, deployment("one", "busybox", 1, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	old := waitPods(t, env, ns, "one", 1, nil)[0]
	if err := env.Clientset.CoreV1().Pods(ns).Delete(ctx, old.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	repl := waitPods(t, env, ns, "one", 1, func(ps []corev1.Pod) bool { return ps[0].UID != old.UID })[0]
	poll.Eventually(t, "the old pod gone", poll.Check(func() (bool, string) {
		return len(pods(t, env, ns, "one", false)) == 1, "the old pod is still there"
	}))
	for _, tc := range []struct {
		what string
		q    url.Values
	}{
		{"old pod", url.Values{"uid": {string(old.UID)}}},
		// As `skiff trace pod/OLD` asks once the pod is gone.
		{"old pod by name", url.Values{"kind": {"Pod"}, "namespace": {ns}, "name": {old.Name}}},
		{"replacement", url.Values{"uid": {string(repl.UID)}}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			spans := storyOf(t, env, tc.q)
			at := inOrder(t, spans,
				step{"the old pod created", apiWrite("POST", old.UID)},
				step{"the old pod deleted", apiWrite("DELETE", old.UID)},
				step{"the ReplicaSet's reconcile replacing it", func(sp trace.Span) bool {
					return about("controller:replicaset", "reconcile ReplicaSet", "")(sp) &&
						sp.Attributes[trace.AttrCauseUIDs] == string(old.UID) && sp.Attributes[trace.AttrEffectUIDs] == string(repl.UID)
				}},
				step{"the replacement created", apiWrite("POST", repl.UID)},
				step{"the replacement scheduled", about("scheduler", "schedule Pod", repl.UID)},
				step{"the replacement's status written", apiWrite("PUT", repl.UID)},
			)
			// The create's request is the reconcile's own: in its trace, or linked to it.
			create, reconcile := spans[at[3]], spans[at[2]]
			tied := create.TraceID == reconcile.TraceID
			for _, sp := range spans {
				if sp.SpanID == create.ParentSpanID && sp.LinkSpanID == reconcile.SpanID {
					tied = true
				}
			}
			if !tied {
				t.Errorf("the replacement's create is not tied to the reconcile: %+v", create)
			}
		})
	}
}

// A NodeHeartbeat Fault silences the node running the pod: the node lifecycle controller marks
// it Unknown and taints it, the taint eviction controller deletes the pod, the ReplicaSet
// controller replaces it and the scheduler puts the replacement on the other node. Both the
// node's and the Fault's stories tell it.
func TestStoryOfALostNode(t *testing.T) {
	env := testenv.Start(t, testenv.WithTracing(), testenv.WithSimulatedNodes(2),
		testenv.WithSimulatedNodeConfig(func(c *simulated.Config) { c.RenewInterval, c.LeaseDuration = 300*time.Millisecond, 3*time.Second }),
		testenv.WithControllerConfig(func(c *controllermanager.Config) {
			c.NodeMonitorGracePeriod, c.NodeMonitorPeriod = 2*time.Second, 200*time.Millisecond
		}))
	ns := env.Namespace(t)
	ctx := context.Background()
	if _, err := env.Clientset.AppsV1().Deployments(ns).Create(ctx, deployment("lone", "busybox", 1, ptr.To[int64](0)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	victim := waitPods(t, env, ns, "lone", 1, nil)[0]
	nodeName := victim.Spec.NodeName
	node, err := env.Clientset.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := &chaosv1alpha1.Fault{TypeMeta: metav1.TypeMeta{APIVersion: chaosv1alpha1.GroupVersion.String(), Kind: "Fault"},
		ObjectMeta: metav1.ObjectMeta{Name: "silence", Namespace: ns},
		Spec: chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.NodeHeartbeat, Duration: &metav1.Duration{Duration: 10 * time.Minute},
			NodeHeartbeat: &chaosv1alpha1.NodeHeartbeatFault{NodeName: nodeName}}}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(f)
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(env.Config)
	created, err := dyn.Resource(faults.Resource).Namespace(ns).Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	faultUID := created.GetUID()
	repl := waitPods(t, env, ns, "lone", 1, func(ps []corev1.Pod) bool { return ps[0].UID != victim.UID })[0]
	if repl.Spec.NodeName == nodeName {
		t.Fatalf("replacement on the silent node %s", nodeName)
	}
	nodeStory := []step{
		{"the node's silence", about("controller:nodelifecycle", "Lease not renewed", node.UID)},
		{"the node marked Unknown", about("controller:nodelifecycle", "mark Node Unknown", node.UID)},
		{"the node tainted unreachable", func(sp trace.Span) bool {
			return about("controller:nodelifecycle", "taint Node", node.UID)(sp) && strings.Contains(sp.Attributes["skiff.taints"], corev1.TaintNodeUnreachable)
		}},
		{"the pod evicted", about("controller:taint-eviction", "evict Pod", victim.UID)},
		{"the pod's delete", apiWrite("DELETE", victim.UID)},
		{"the ReplicaSet's reconcile replacing it", func(sp trace.Span) bool {
			return about("controller:replicaset", "reconcile ReplicaSet", "")(sp) &&
				sp.Attributes[trace.AttrCauseUIDs] == string(victim.UID) && sp.Attributes[trace.AttrEffectUIDs] == string(repl.UID)
		}},
		{"the replacement created", apiWrite("POST", repl.UID)},
		{"the replacement scheduled", about("scheduler", "schedule Pod", repl.UID)},
	}
	t.Run("node", func(t *testing.T) {
		spans := story(t, env, []types.UID{node.UID})
		inOrder(t, spans, nodeStory...)
		// The pod from the node's silence on: not its creation.
		for _, sp := range spans {
			if apiWrite("POST", victim.UID)(sp) {
				t.Errorf("the node's story has the pod's creation: %+v", sp)
			}
		}
		t.Logf("node story: %d spans\n%s", len(spans), trace.Render(spans))
	})
	t.Run("fault", func(t *testing.T) {
		spans := story(t, env, []types.UID{faultUID})
		inOrder(t, spans, append([]step{
			{"the fault created", apiWrite("POST", faultUID)},
			{"the fault started, naming the node", func(sp trace.Span) bool {
				return about("controller:fault", "reconcile Fault", faultUID)(sp) && sp.Attributes[trace.AttrEffectUIDs] == string(node.UID)
			}},
			{"the fault's status", apiWrite("PUT", faultUID)},
			{"the node's heartbeats stopped", about("agent:"+nodeName, "stop heartbeats", faultUID)},
		}, nodeStory[1:]...)...)
		t.Logf("fault story: %d spans\n%s", len(spans), trace.Render(spans))
	})
}
