package ui_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/insight/ui"
	"github.com/skiff-dev/skiff/insight/trace"
)

var t0 = time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)

// fakeSpans is a pod's start as the trace endpoint would tell it.
func fakeSpans() []trace.Span {
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	return []trace.Span{
		{SpanID: "1", Name: "create pod", Component: "apiserver", Caller: "kubectl", Start: at(0), End: at(12)},
		{SpanID: "2", ParentSpanID: "1", Name: "etcd txn", Component: "etcd", Caller: "apiserver", Start: at(5), End: at(9)},
		{SpanID: "3", Name: "schedule", Component: "scheduler", Caller: "apiserver", Start: at(20), End: at(35)},
		{SpanID: "4", Name: "bind", Component: "apiserver", Caller: "scheduler", Start: at(30), End: at(34)},
		{SpanID: "5", Name: "sync pod", Component: "agent", Caller: "apiserver", Start: at(40), End: at(1400)},
		{SpanID: "6", ParentSpanID: "5", Name: "start container", Component: "runtime", Caller: "agent", Start: at(50), End: at(1300)},
		{SpanID: "7", Name: "program rules", Component: "proxy", Caller: "apiserver", Start: at(1410), End: at(1450)},
		{SpanID: "8", Name: "reconcile endpoints", Component: "controller", Caller: "apiserver", Start: at(1402), End: at(1408)},
	}
}

// fakeAPI answers the pod page's reads: the pod, and the insight endpoints unless insight is
// false (then they answer 404, as a server without them). It records the impersonated user.
func fakeAPI(t *testing.T, insight bool, users chan<- string) *httptest.Server {
	t.Helper()
	controller := func(apiVersion, kind, name string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, UID: types.UID("uid-" + name), Controller: ptr.To(true)}}
	}
	rs := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-5d8f", Namespace: "default", UID: "uid-web-5d8f",
		OwnerReferences: controller("apps/v1", "Deployment", "web")}}
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default", UID: "uid-1", CreationTimestamp: metav1.NewTime(t0),
		OwnerReferences: controller("apps/v1", "ReplicaSet", "web-5d8f")},
		Spec:   corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "c"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "c", Ready: true, RestartCount: 2}}}}
	mux := http.NewServeMux()
	answer := func(v any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			select {
			case users <- r.Header.Get("Impersonate-User"):
			default:
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(v)
		}
	}
	mux.Handle("GET /api/v1/namespaces/default/pods/web-1", answer(pod))
	// The pod's controllers, found through discovery (the Deployment cannot be read: its UID
	// still comes from the ReplicaSet's reference).
	mux.Handle("GET /apis/apps/v1", answer(metav1.APIResourceList{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
		{Name: "deployments/scale", Namespaced: true, Kind: "Scale"},
		{Name: "replicasets/status", Namespaced: true, Kind: "ReplicaSet"},
		{Name: "replicasets", Namespaced: true, Kind: "ReplicaSet"},
	}}))
	mux.Handle("GET /apis/apps/v1/namespaces/default/replicasets/web-5d8f", answer(rs))
	if insight {
		mux.HandleFunc("GET /insight/v1/traces", func(w http.ResponseWriter, r *http.Request) {
			// As `skiff trace pod/web-1` asks: the pod and its controllers' own work.
			if q := r.URL.Query(); q.Get("uid") != "uid-1" || !reflect.DeepEqual(q["ancestor"], []string{"uid-web-5d8f", "uid-web"}) {
				http.Error(w, "wrong query "+r.URL.RawQuery, http.StatusBadRequest)
				return
			}
			answer(map[string]any{"spans": fakeSpans()})(w, r)
		})
		// As apiserver/insight/why answers.
		mux.HandleFunc("GET /insight/v1/why", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"namespace":"default","name":"web-1","phase":"Running",
				"explanation":["Pod default/web-1 waited 20ms for the scheduler.","It is Ready since 1.45s."],
				"diagnosis":{"podUID":"uid-1","message":"0/2 nodes are available: 1 Insufficient cpu.","nodes":[
					{"node":"node-b","filter":"NodeResourcesFit","reasons":["Insufficient cpu"],
					 "resources":[{"name":"cpu","requested":2000,"allocatable":2000,"used":1000,"insufficient":true},{"name":"pods","requested":1,"allocatable":110,"used":3}],"preemptionMayHelp":true},
					{"node":"node-a"}]}}`))
		})
		mux.HandleFunc("GET /insight/v1/history", func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			if q.Get("version") != "v1" || q.Get("resource") != "pods" || q.Get("namespace") != "default" || q.Get("name") != "web-1" || !q.Has("group") {
				http.Error(w, "wrong query "+r.URL.RawQuery, http.StatusBadRequest)
				return
			}
			answer(map[string]any{"revisions": []ui.Revision{
				{ResourceVersion: "10", Time: "2026-12-06T05:00:00Z", Manager: "kubectl-create", Operation: "Create", User: "admin", Diff: "+spec:\n+  nodeName: \"\"\n"},
				{ResourceVersion: "12", Time: "2026-12-06T05:00:00.03Z", Manager: "skiff-scheduler", Operation: "Update", User: "system:kube-scheduler", Diff: "@@ spec @@\n-  nodeName: \"\"\n+  nodeName: node-a\n"},
			}})(w, r)
		})
	}
	s := httptest.NewTLSServer(mux)
	t.Cleanup(s.Close)
	return s
}

// servePages serves the UI's handler against api, as user (what the API server's chain would
// have put in the request's context).
func servePages(t *testing.T, api *httptest.Server, name string) *httptest.Server {
	t.Helper()
	h, err := ui.New(ui.Config{Loopback: &rest.Config{Host: api.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}},
		Now: func() time.Time { return t0.Add(90 * time.Second) }})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := &user.DefaultInfo{Name: name, Groups: []string{"viewers", user.AllAuthenticated}}
		h.ServeHTTP(w, r.WithContext(request.WithUser(r.Context(), u)))
	}))
	t.Cleanup(s.Close)
	return s
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	return resp.StatusCode, b.String()
}

func TestPodPage(t *testing.T) {
	for _, tt := range []struct {
		name         string
		insight      bool
		want, absent []string
	}{
		{
			name:    "the insight endpoints answer",
			insight: true,
			want: []string{
				`<td id="phase">Running</td>`, "<td>1/1</td>", "<td>2</td>", "<td>90s</td>",
				"8 spans over 1.45s; critical path (*) <span id=\"critical-path\" data-duration=\"1315000000\">1.31s</span> in 5 spans.", `<g class="column" data-component="kubectl">`, `<g class="column" data-component="proxy">`,
				`<g class="arrow" data-name="create pod" data-from="kubectl" data-to="apiserver"`,
				`<g class="arrow" data-name="start container" data-from="agent" data-to="runtime"`,
				">start container (1.25s)</text>", ">&#43;50ms</text>",
				"<li>Pod default/web-1 waited 20ms for the scheduler.</li>",
				"<p class=\"diagnosis\">The scheduler's last attempt: 0/2 nodes are available: 1 Insufficient cpu.</p>",
				"<td>node-b</td><td>NodeResourcesFit</td><td>Insufficient cpu; cpu: requested 2000, free 1000 of 2000</td>",
				"<td>node-a</td><td></td><td></td>",
				"resourceVersion 12 · 2026-12-06T05:00:00.03Z · Update by skiff-scheduler (system:kube-scheduler)",
				`<span class="del">-  nodeName: &#34;&#34;</span>`, `<span class="add">&#43;  nodeName: node-a</span>`,
			},
			absent: []string{"not available"},
		},
		{
			name: "a server without them: not available",
			want: []string{"Traces are not available on this server.", "The explanation is not available on this server.",
				"The history is not available on this server.", `<td id="phase">Running</td>`},
			absent: []string{"<svg"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			users := make(chan string, 10)
			pages := servePages(t, fakeAPI(t, tt.insight, users), "alice")
			code, body := get(t, pages.URL+"/ui/pods/default/web-1")
			if code != http.StatusOK {
				t.Fatalf("GET the pod's page: %d\n%s", code, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("the page lacks %q", w)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(body, a) {
					t.Errorf("the page has %q", a)
				}
			}
			if u := <-users; u != "alice" {
				t.Errorf("the API was read as %q, want alice impersonated", u)
			}
			if t.Failed() {
				t.Logf("page:\n%s", body)
			}
		})
	}
}

// TestWhyShapes: the why endpoint's answer as the brief's contract has it, and as
// apiserver/insight/why answers.
func TestWhyShapes(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		lines      []string
		verdicts   []ui.WhyNode
	}{
		{"sentences and nodes", `{"sentences":["a","b"],"nodes":[{"node":"n1","filter":"TaintToleration","reason":"untolerated taint"}]}`,
			[]string{"a", "b"}, []ui.WhyNode{{Node: "n1", Filter: "TaintToleration", Reason: "untolerated taint"}}},
		{"explanation and diagnosis", `{"explanation":["c"],"diagnosis":{"nodes":[{"node":"n2","filter":"TaintToleration","taint":"k=v:NoSchedule","reasons":["untolerated taint"]}]}}`,
			[]string{"c"}, []ui.WhyNode{{Node: "n2", Filter: "TaintToleration", Reason: "untolerated taint; taint k=v:NoSchedule"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var w ui.Why
			if err := json.Unmarshal([]byte(tt.body), &w); err != nil {
				t.Fatal(err)
			}
			if got := w.Lines(); !reflect.DeepEqual(got, tt.lines) {
				t.Errorf("Lines() = %q, want %q", got, tt.lines)
			}
			if got := w.Verdicts(); !reflect.DeepEqual(got, tt.verdicts) {
				t.Errorf("Verdicts() = %+v, want %+v", got, tt.verdicts)
			}
		})
	}
}
