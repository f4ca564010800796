package e2e

import (
	"fmt"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/test/chromium"
	"github.com/skiff-dev/skiff/test/poll"
)

// TestPodPageShowsTheTrace is issue 16's web page with real spans: a Deployment on a real node,
// then the pod's page of the API server's /ui/, opened in headless Chromium with a
// ServiceAccount's bearer token (?token=), draws the diagram `skiff trace pod/NAME` prints: the
// same columns in the same order, as many arrows as rows, the same total and the same critical
// path (its sum and its number of spans). Content, not pixels; the screenshot is saved in the
// test's temporary dir (or SKIFF_UI_SCREENSHOTS).
func TestPodPageShowsTheTrace(t *testing.T) {
	longScenario(t)
	s := startNodeT(t, t.TempDir(), "page-node", "10.244.246.0/24")
	ns := s.namespace(t)
	t.Cleanup(func() { s.kubectl(t, "delete", "namespace", ns, "--timeout=60s") })
	t.Cleanup(func() {
		if t.Failed() { // what the pods waited for
			t.Logf("%s\n%s\n%s", s.kubectl(t, "-n", ns, "get", "pods,events", "-o", "wide"), s.kubectl(t, "get", "nodes", "-o", "wide"), s.logTail())
		}
	})
	s.ok(t, "-n", ns, "create", "deployment", "web", "--image=busybox", "--replicas=2", "--", "sleep", "3600")
	s.ok(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout=120s")
	name := strings.Fields(s.ok(t, "-n", ns, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}"))[0]

	// A reader of the pages and of what they read, and its token.
	s.okIn(t, fmt.Sprintf(`apiVersion: v1
kind: ServiceAccount
metadata: {name: page-reader, namespace: %[1]s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: %[1]s-page-reader}
rules:
- {apiGroups: [""], resources: [pods, nodes], verbs: [get, list, watch]}
- {apiGroups: [apps], resources: [replicasets, deployments], verbs: [get, list, watch]}
- {nonResourceURLs: ["/ui", "/ui/*", "/insight/*"], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: %[1]s-page-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %[1]s-page-reader}
subjects: [{kind: ServiceAccount, name: page-reader, namespace: %[1]s}]
`, ns), "apply", "-f", "-")
	token := strings.TrimSpace(s.ok(t, "-n", ns, "create", "token", "page-reader"))

	skiffTrace := func() string {
		out, err := exec.Command(skiffBin, "trace", "--kubeconfig", s.kubeconfig, "-n", ns, "pod/"+name).CombinedOutput()
		if err != nil {
			t.Fatalf("skiff trace: %v\n%s", err, out)
		}
		return string(out)
	}
	// The API server's own CA is not the browser's.
	b := chromium.Start(t, "--ignore-certificate-errors")
	page := s.restConfig(t).Host + "/ui/pods/" + url.PathEscape(ns) + "/" + url.PathEscape(name)
	b.Navigate(page + "?token=" + url.QueryEscape(token))
	b.Until("the pod's diagram", `document.querySelectorAll("svg.diagram g.arrow").length > 0 || document.querySelector("#trace .error, #trace .unavailable") != null`)
	if msg, _ := b.Eval(`(document.querySelector("#trace .error, #trace .unavailable") || {}).textContent`).(string); msg != "" {
		t.Fatalf("the pod's page has no diagram: %s\n%s", msg, b.DOM())
	}

	// Late spans (a status write, the endpoints' work) may land between two looks: the page must
	// match a diagram that skiff trace prints the same before and after it.
	var last string
	poll.Until(t, time.Minute, "the page and skiff trace agree", func() error {
		before := skiffTrace()
		b.Navigate(page)
		b.Until("the pod's diagram", `document.querySelectorAll("svg.diagram g.arrow").length > 0`)
		got := pageDiagram{
			Columns:  b.Eval(`[...document.querySelectorAll("svg.diagram g.column")].map(g => g.dataset.component).join(" ")`).(string),
			Arrows:   int(b.Eval(`document.querySelectorAll("svg.diagram g.arrow").length`).(float64)),
			Critical: int(b.Eval(`document.querySelectorAll("svg.diagram g.arrow[data-critical]").length`).(float64)),
			Summary:  b.Eval(`document.getElementById("trace-summary").textContent`).(string),
		}
		after := skiffTrace()
		last = fmt.Sprintf("skiff trace:\n%s\npage: %+v", after, got)
		if before != after {
			return fmt.Errorf("skiff trace changed between two runs")
		}
		return sameDiagram(after, got)
	})
	t.Logf("%s", last)
	t.Logf("screenshot: %s", b.Screenshot("pod-page.png"))
}

// pageDiagram is what the pod's page shows of its diagram.
type pageDiagram struct {
	// Columns are the components (data-component), space separated.
	Columns string
	// Arrows and Critical count the arrows, and those marked on the critical path.
	Arrows, Critical int
	// Summary is "N spans over TOTAL; critical path (*) SUM in M spans."
	Summary string
}

var (
	renderTotal   = regexp.MustCompile(`^total (\S+) from the first span's start to the last one's end; (critical path \(\*\) \S+ in \d+ spans)$`)
	summaryTotals = regexp.MustCompile(`^(\d+) spans over (\S+); (critical path \(\*\) \S+ in \d+ spans)\.$`)
)

// sameDiagram compares `skiff trace`'s diagram with the page's: the columns in order (skiff
// trace writes controller:x as ctl:x and cuts long names), one arrow per row, the rows marked
// '*' and the closing line's total and critical path.
func sameDiagram(rendered string, page pageDiagram) error {
	lines := strings.Split(strings.TrimRight(rendered, "\n"), "\n")
	if len(lines) < 3 {
		return fmt.Errorf("skiff trace printed no diagram")
	}
	header, rows, closing := strings.Fields(lines[0]), lines[1:len(lines)-1], lines[len(lines)-1]
	columns := strings.Fields(strings.ReplaceAll(page.Columns, "controller:", "ctl:"))
	if len(header) != len(columns) {
		return fmt.Errorf("columns: skiff trace %v, the page %v", header, columns)
	}
	for i := range header {
		if !strings.HasPrefix(columns[i], header[i]) {
			return fmt.Errorf("column %d: skiff trace %q, the page %q (skiff trace %v, the page %v)", i, header[i], columns[i], header, columns)
		}
	}
	marked := 0
	for _, r := range rows {
		if strings.HasPrefix(r, "*") {
			marked++
		}
	}
	m, p := renderTotal.FindStringSubmatch(closing), summaryTotals.FindStringSubmatch(strings.TrimSpace(page.Summary))
	switch {
	case m == nil || p == nil:
		return fmt.Errorf("unexpected closing lines %q and %q", closing, page.Summary)
	case len(rows) != page.Arrows || p[1] != fmt.Sprint(len(rows)):
		return fmt.Errorf("skiff trace draws %d rows, the page %d arrows (%s)", len(rows), page.Arrows, p[1])
	case marked != page.Critical:
		return fmt.Errorf("skiff trace marks %d rows, the page %d arrows", marked, page.Critical)
	case m[1] != p[2]:
		return fmt.Errorf("total: skiff trace %s, the page %s", m[1], p[2])
	case m[2] != p[3]:
		return fmt.Errorf("skiff trace's %q, the page's %q", m[2], p[3])
	}
	return nil
}
