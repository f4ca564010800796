package ui

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/insight/trace"
)

// Path is where the pages are served; every path below it is the UI's.
const Path = "/ui/"

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"diffClass":  diffClass,
	"splitLines": func(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") },
}).ParseFS(templateFiles, "templates/*.html"))

// Config is what the pages need from the API server.
type Config struct {
	// Loopback reaches this API server with full rights. The pages read pods, nodes and the
	// insight endpoints through it as the user who asked, by impersonating them, so that a
	// user sees on the pages exactly what the API would show them.
	Loopback *rest.Config
	// Now is the clock for ages (time.Now when nil).
	Now func() time.Time
}

type handler struct {
	base http.RoundTripper
	host *url.URL
	now  func() time.Time
}

// New is the handler of Path, to install on the API server's non-resource mux (behind the
// handler chain, so authenticated and authorized as any non-resource path: GET /ui/...).
func New(cfg Config) (http.Handler, error) {
	if cfg.Loopback == nil {
		return nil, errors.New("ui: no loopback client config")
	}
	base, err := rest.TransportFor(cfg.Loopback)
	if err != nil {
		return nil, fmt.Errorf("ui: loopback transport: %w", err)
	}
	host, _, err := rest.DefaultServerUrlFor(cfg.Loopback)
	if err != nil {
		return nil, fmt.Errorf("ui: loopback URL: %w", err)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	h := &handler{base: base, host: host, now: now}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Path+"{$}", h.overview)
	mux.HandleFunc("GET "+Path+"pods/{namespace}/{name}", h.pod)
	mux.Handle("GET "+Path+"static/", static)
	return securityHeaders(mux), nil
}

// static serves the embedded stylesheet and script (no data: WithLogin serves them to anyone,
// for the login form).
var static = func() http.Handler {
	files, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err)
	}
	return http.StripPrefix(Path+"static/", http.FileServerFS(files))
}()

// securityHeaders keeps the pages from being framed and from running scripts other than the
// UI's own file.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// apiError is an answer of the API other than 200.
type apiError struct {
	Code    int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }

func isNotFound(err error) bool {
	var e *apiError
	return errors.As(err, &e) && e.Code == http.StatusNotFound
}

// get reads path (with its query) from the API as the request's user into out.
func (h *handler) get(r *http.Request, path string, out any) error {
	u, ok := request.UserFrom(r.Context())
	if !ok {
		return errors.New("no user in the request")
	}
	rt := transport.NewImpersonatingRoundTripper(transport.ImpersonationConfig{
		UserName: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: u.GetExtra(),
	}, h.base)
	target := *h.host
	ref, err := url.Parse(path)
	if err != nil {
		return err
	}
	target.Path, target.RawQuery = ref.Path, ref.RawQuery
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, target.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &apiError{Code: resp.StatusCode, Message: strings.TrimSpace(string(body))}
		var status metav1.Status
		if json.Unmarshal(body, &status) == nil && status.Message != "" {
			e.Message = status.Message
		}
		return e
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: decoding: %w", path, err)
	}
	return nil
}

func (h *handler) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		klog.FromContext(r.Context()).Error(err, "Rendering UI page failed", "page", name)
	}
}

// PodRow is one line of the pods table (the script computes the same from watch events).
type PodRow struct {
	Namespace, Name, UID, Phase, Node, Ready, Age string
	Restarts                                      int32
	Created                                       string
}

// NodeRow is one line of the nodes table.
type NodeRow struct {
	Name, Status, Roles, Version, InternalIP, Age, Created string
}

// NewPodRow is the table's view of pod at now: phase (Terminating once deleted), ready
// containers over containers, restarts summed over containers, age.
func NewPodRow(pod *corev1.Pod, now time.Time) PodRow {
	row := PodRow{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID), Phase: string(pod.Status.Phase),
		Node: pod.Spec.NodeName, Age: age(pod.CreationTimestamp, now), Created: created(pod.CreationTimestamp)}
	if pod.DeletionTimestamp != nil {
		row.Phase = "Terminating"
	}
	ready := 0
	for _, c := range pod.Status.ContainerStatuses {
		if c.Ready {
			ready++
		}
		row.Restarts += c.RestartCount
	}
	row.Ready = fmt.Sprintf("%d/%d", ready, len(pod.Spec.Containers))
	return row
}

// NewNodeRow is the table's view of node at now: Ready/NotReady/Unknown (and
// SchedulingDisabled when cordoned), roles from the node-role.kubernetes.io/ labels.
func NewNodeRow(node *corev1.Node, now time.Time) NodeRow {
	row := NodeRow{Name: node.Name, Status: "Unknown", Version: node.Status.NodeInfo.KubeletVersion,
		Age: age(node.CreationTimestamp, now), Created: created(node.CreationTimestamp)}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			switch c.Status {
			case corev1.ConditionTrue:
				row.Status = "Ready"
			case corev1.ConditionFalse:
				row.Status = "NotReady"
			}
		}
	}
	if node.Spec.Unschedulable {
		row.Status += ",SchedulingDisabled"
	}
	var roles []string
	for k := range node.Labels {
		if r, ok := strings.CutPrefix(k, "node-role.kubernetes.io/"); ok && r != "" {
			roles = append(roles, r)
		}
	}
	sort.Strings(roles)
	row.Roles = strings.Join(roles, ",")
	if row.Roles == "" {
		row.Roles = "<none>"
	}
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			row.InternalIP = a.Address
			break
		}
	}
	return row
}

func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func created(t metav1.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

type overviewPage struct {
	Namespace                 string
	Nodes                     []NodeRow
	Pods                      []PodRow
	NodesVersion, PodsVersion string
	NodesError, PodsError     string
}

func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	now := h.now()
	page := overviewPage{Namespace: r.URL.Query().Get("namespace")}
	var nodes corev1.NodeList
	if err := h.get(r, "/api/v1/nodes", &nodes); err != nil {
		page.NodesError = err.Error()
	} else {
		page.NodesVersion = nodes.ResourceVersion
		for i := range nodes.Items {
			page.Nodes = append(page.Nodes, NewNodeRow(&nodes.Items[i], now))
		}
	}
	podsPath := "/api/v1/pods"
	if page.Namespace != "" {
		podsPath = "/api/v1/namespaces/" + url.PathEscape(page.Namespace) + "/pods"
	}
	var pods corev1.PodList
	if err := h.get(r, podsPath, &pods); err != nil {
		page.PodsError = err.Error()
	} else {
		page.PodsVersion = pods.ResourceVersion
		for i := range pods.Items {
			page.Pods = append(page.Pods, NewPodRow(&pods.Items[i], now))
		}
	}
	h.render(w, r, "overview.html", page)
}

// section is one part of the pod page read from an insight endpoint: not available when the
// endpoint answers 404, an error when it fails otherwise.
type section struct {
	NotAvailable bool
	Error        string
}

func (s *section) set(err error) bool {
	if err == nil {
		return true
	}
	if isNotFound(err) {
		s.NotAvailable = true
	} else {
		s.Error = err.Error()
	}
	return false
}

// Why is the answer of GET /insight/v1/why: sentences ("sentences", or "explanation" as
// apiserver/insight/why answers) and the nodes of the scheduler's last attempt ("nodes", or
// "diagnosis.nodes" with upstream's reasons and NodeResourcesFit's numbers).
type Why struct {
	Sentences   []string      `json:"sentences,omitempty"`
	Explanation []string      `json:"explanation,omitempty"`
	Nodes       []WhyNode     `json:"nodes,omitempty"`
	Diagnosis   *WhyDiagnosis `json:"diagnosis,omitempty"`
}

// WhyNode is one node's verdict in the scheduler's last attempt.
type WhyNode struct {
	Node   string `json:"node"`
	Filter string `json:"filter"`
	Reason string `json:"reason"`
}

// WhyDiagnosis is the scheduler's last attempt (insight/scheddiag's Diagnosis, the parts shown).
type WhyDiagnosis struct {
	Message string `json:"message"`
	Nodes   []struct {
		Node      string   `json:"node"`
		Filter    string   `json:"filter"`
		Reasons   []string `json:"reasons"`
		Taint     string   `json:"taint"`
		Resources []struct {
			Name                         string `json:"name"`
			Requested, Allocatable, Used int64
			Insufficient                 bool `json:"insufficient"`
		} `json:"resources"`
	} `json:"nodes"`
}

// Lines are the sentences to show.
func (w Why) Lines() []string {
	return append(append([]string{}, w.Sentences...), w.Explanation...)
}

// Verdicts are the nodes' rows: reasons, the insufficient resources' numbers (requested, free
// of allocatable, in the resource's base unit: millicores, bytes) and the taint.
func (w Why) Verdicts() []WhyNode {
	out := append([]WhyNode{}, w.Nodes...)
	if w.Diagnosis == nil {
		return out
	}
	for _, n := range w.Diagnosis.Nodes {
		parts := append([]string{}, n.Reasons...)
		for _, r := range n.Resources {
			if r.Insufficient {
				parts = append(parts, fmt.Sprintf("%s: requested %d, free %d of %d", r.Name, r.Requested, r.Allocatable-r.Used, r.Allocatable))
			}
		}
		if n.Taint != "" {
			parts = append(parts, "taint "+n.Taint)
		}
		out = append(out, WhyNode{Node: n.Node, Filter: n.Filter, Reason: strings.Join(parts, "; ")})
	}
	return out
}

// Revision is one entry of GET /insight/v1/history.
type Revision struct {
	ResourceVersion string          `json:"resourceVersion"`
	Time            string          `json:"time"`
	Deleted         bool            `json:"deleted"`
	Manager         string          `json:"manager"`
	Operation       string          `json:"operation"`
	User            string          `json:"user"`
	Diff            string          `json:"diff"`
	Object          json.RawMessage `json:"object"`
}

type podPage struct {
	Namespace, Name string
	Error           string
	Row             PodRow
	Conditions      []corev1.PodCondition
	Trace           struct {
		section
		Layout Layout
		Spans  int
	}
	Why struct {
		section
		Why
	}
	History struct {
		section
		Revisions            []Revision
		Compacted, Truncated bool
	}
}

func (h *handler) pod(w http.ResponseWriter, r *http.Request) {
	page := podPage{Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	var pod corev1.Pod
	if err := h.get(r, "/api/v1/namespaces/"+url.PathEscape(page.Namespace)+"/pods/"+url.PathEscape(page.Name), &pod); err != nil {
		if isNotFound(err) {
			w.WriteHeader(http.StatusNotFound)
		}
		page.Error = err.Error()
		h.render(w, r, "pod.html", page)
		return
	}
	page.Row = NewPodRow(&pod, h.now())
	page.Conditions = pod.Status.Conditions

	// The same query as `skiff trace pod/NAME`: the pod's spans and its controllers' own work.
	var traces trace.Response
	ancestors := trace.Ancestors(&pod, func(ref metav1.OwnerReference, namespace string) (metav1.Object, error) {
		return h.owner(r, ref, namespace)
	})
	if page.Trace.set(h.get(r, "/insight/v1/traces?"+url.Values{"uid": {string(pod.UID)}, "ancestor": ancestors}.Encode(), &traces)) {
		page.Trace.Layout = Diagram(traces.Spans)
		page.Trace.Spans = len(traces.Spans)
	}
	page.Why.set(h.get(r, "/insight/v1/why?"+url.Values{"namespace": {pod.Namespace}, "name": {pod.Name}}.Encode(), &page.Why.Why))
	var history struct {
		Revisions            []Revision `json:"revisions"`
		Compacted, Truncated bool
	}
	if page.History.set(h.get(r, "/insight/v1/history?"+url.Values{"group": {""}, "version": {"v1"}, "resource": {"pods"},
		"namespace": {pod.Namespace}, "name": {pod.Name}}.Encode(), &history)) {
		page.History.Revisions = history.Revisions
		page.History.Compacted, page.History.Truncated = history.Compacted, history.Truncated
	}
	h.render(w, r, "pod.html", page)
}

// owner reads the object a controller reference names, as the request's user: its resource is
// found in the discovery document of the reference's group version.
func (h *handler) owner(r *http.Request, ref metav1.OwnerReference, namespace string) (metav1.Object, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil, err
	}
	prefix := "/apis/" + gv.String()
	if gv.Group == "" {
		prefix = "/api/" + gv.Version
	}
	var resources metav1.APIResourceList
	if err := h.get(r, prefix, &resources); err != nil {
		return nil, err
	}
	for _, res := range resources.APIResources {
		if res.Kind != ref.Kind || strings.Contains(res.Name, "/") {
			continue
		}
		path := prefix + "/" + res.Name + "/" + url.PathEscape(ref.Name)
		if res.Namespaced {
			path = prefix + "/namespaces/" + url.PathEscape(namespace) + "/" + res.Name + "/" + url.PathEscape(ref.Name)
		}
		var obj metav1.PartialObjectMetadata
		if err := h.get(r, path, &obj); err != nil {
			return nil, err
		}
		return &obj.ObjectMeta, nil
	}
	return nil, fmt.Errorf("no resource of kind %s in %s", ref.Kind, gv)
}

// diffClass is the CSS class of one line of a unified diff.
func diffClass(line string) string {
	switch {
	case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"), strings.HasPrefix(line, "@@"):
		return "hunk"
	case strings.HasPrefix(line, "+"):
		return "add"
	case strings.HasPrefix(line, "-"):
		return "del"
	}
	return ""
}
