package why_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/apiserver/insight/why"
	"github.com/skiff-dev/skiff/insight/scheddiag"
)

func getWhy(t *testing.T, c kubernetes.Interface, name string) why.Response {
	t.Helper()
	body, err := c.CoreV1().RESTClient().Get().AbsPath(why.Path).Param("namespace", "default").Param("name", name).DoRaw(context.Background())
	if err != nil {
		t.Fatalf("GET %s: %v: %s", why.Path, err, body)
	}
	var resp why.Response
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return resp
}

// TestWhyEndpoint: the API server explains a pending pod from the diagnosis its process's
// scheduler recorded, and from the pod's condition and events when it has none.
func TestWhyEndpoint(t *testing.T) {
	store := scheddiag.NewStore(0)
	s := apiservertest.StartWith(t, func(o *apiserver.Options) {
		o.DisableServiceAccountAdmission = true
		o.SchedulerDiagnoses = store
	})
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods("default")
	mk := func(name string) *corev1.Pod {
		p, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	msg := "0/1 nodes are available: 1 Insufficient cpu."

	withDiag := mk("with-diagnosis")
	store.Record(scheddiag.Diagnosis{PodUID: withDiag.UID, Time: time.Now(), Message: msg, Nodes: []scheddiag.NodeDiagnosis{{
		Node: "n1", Filter: "NodeResourcesFit", Reasons: []string{"Insufficient cpu"}, PreemptionMayHelp: true,
		Resources: []scheddiag.Resource{{Name: "cpu", Requested: 4000, Allocatable: 2000, Used: 500, Insufficient: true}}}}})
	resp := getWhy(t, s.Client, "with-diagnosis")
	all := strings.Join(resp.Explanation, "\n")
	if resp.Diagnosis == nil || !strings.Contains(all, "Node n1 (NodeResourcesFit): Insufficient cpu: the pod requests 4, the node has 1500m free (2 allocatable, 500m requested by its pods).") {
		t.Errorf("with a diagnosis:\n%s", all)
	}

	without := mk("without-diagnosis")
	without.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: msg,
		LastTransitionTime: metav1.Now()}}
	if _, err := pods.UpdateStatus(ctx, without, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Client.CoreV1().Events("default").Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "without-diagnosis.1"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: without.Name, UID: without.UID},
		Reason:         "FailedScheduling", Type: corev1.EventTypeWarning, Message: msg, Count: 3,
		FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(), Source: corev1.EventSource{Component: "default-scheduler"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resp = getWhy(t, s.Client, "without-diagnosis")
	all = strings.Join(resp.Explanation, "\n")
	if resp.Diagnosis != nil || !strings.HasPrefix(all, why.DiagnosisUnavailable) ||
		!strings.Contains(all, "Unschedulable: "+msg) || !strings.Contains(all, "FailedScheduling event (") || !strings.Contains(all, ", 3 times): "+msg) {
		t.Errorf("without a diagnosis:\n%s", all)
	}

	if _, err := s.Client.CoreV1().RESTClient().Get().AbsPath(why.Path).Param("name", "nope").DoRaw(ctx); err == nil {
		t.Errorf("a missing pod is explained")
	}
}
