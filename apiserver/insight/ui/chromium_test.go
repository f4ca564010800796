package ui_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/apiserver/insight/ui"
	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/test/chromium"
)

// TestInChromium loads the pages in a headless Chromium: the overview, through `skiff ui`'s
// proxy against a real API server, follows pods being created and deleted; a pod's page with
// fake spans draws the sequence diagram.
func TestInChromium(t *testing.T) {
	browser := chromium.Start(t)
	ctx := context.Background()

	t.Run("the overview follows the watch", func(t *testing.T) {
		b := browser.For(t)
		s := startWithPod(t)
		proxy, err := ui.NewProxy(s.Config, "s3cret")
		if err != nil {
			t.Fatal(err)
		}
		local := httptest.NewServer(proxy)
		defer func() {
			// The page's watches would keep the server open.
			b.Navigate("about:blank")
			local.CloseClientConnections()
			local.Close()
		}()
		b.Navigate(ui.SessionURL(strings.TrimPrefix(local.URL, "http://"), "s3cret"))
		rowsHave := func(table, text string) string {
			return fmt.Sprintf(`[...document.querySelectorAll("#%s tbody tr")].some(tr => tr.textContent.includes(%q))`, table, text)
		}
		b.Until("the server-rendered rows and a live watch", rowsHave("pods", "web-1")+` && `+rowsHave("nodes", "node-a")+
			` && document.getElementById("live").textContent == "nodes: live · pods: live"`)

		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-2", Namespace: "default"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "busybox"}, {Name: "b", Image: "busybox"}}}}
		if _, err := s.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		b.Until("web-2 in the table", rowsHave("pods", "web-2"))
		// The script's row is the server's: name (a link), namespace, phase, node, ready, restarts, age.
		cells := b.Eval(`[...[...document.querySelectorAll("#pods tbody tr")].find(tr => tr.textContent.includes("web-2")).cells].slice(0, 6).map(td => td.textContent)`)
		if got := fmt.Sprint(cells); got != "[web-2 default Pending  0/2 0]" {
			t.Errorf("web-2's row %s", got)
		}
		if err := s.Client.CoreV1().Pods("default").Delete(ctx, "web-1", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		b.Until("web-1 gone from the table", "!"+rowsHave("pods", "web-1"))
		b.Screenshot("overview.png")
		if dom := b.DOM(); !strings.Contains(dom, `href="/ui/pods/default/web-2"`) {
			t.Errorf("the overview's DOM lacks web-2's link:\n%s", dom)
		}
	})

	t.Run("a pod's sequence diagram", func(t *testing.T) {
		b := browser.For(t)
		pages := servePages(t, fakeAPI(t, true, make(chan string, 10)), "alice")
		b.Navigate(pages.URL + "/ui/pods/default/web-1")
		b.Until("the diagram", `document.querySelectorAll("svg.diagram g.arrow").length > 0`)
		columns := b.Eval(`[...document.querySelectorAll("svg.diagram g.column")].map(g => g.dataset.component).join(",")`)
		if want := strings.Join(trace.Kinds, ","); columns != want {
			t.Errorf("columns %v, want %v", columns, want)
		}
		// Each arrow's line runs between its two columns' lifelines, and its label tells the span and its duration.
		arrows := b.Eval(`[...document.querySelectorAll("svg.diagram g.arrow")].map(g => {
			const col = name => document.querySelector('svg.diagram g.column[data-component="' + name + '"] line').getAttribute("x1");
			const line = g.querySelector("line.call");
			const ok = line ? line.getAttribute("x1") == col(g.dataset.from) && line.getAttribute("x2") == col(g.dataset.to)
			                : g.dataset.from == g.dataset.to && g.querySelector("path.call") != null;
			return g.dataset.from + ">" + g.dataset.to + ":" + g.querySelector("text.label").textContent + ":" + ok;
		}).join("\n")`)
		want := strings.Join([]string{
			"kubectl>apiserver:create pod (12ms):true",
			"apiserver>etcd:etcd txn (4ms):true",
			"apiserver>scheduler:schedule (15ms):true",
			"scheduler>apiserver:bind (4ms):true",
			"apiserver>agent:sync pod (1.36s):true",
			"agent>runtime:start container (1.25s):true",
			"apiserver>controller:reconcile endpoints (6ms):true",
			"apiserver>proxy:program rules (40ms):true",
		}, "\n")
		if arrows != want {
			t.Errorf("arrows:\n%v\nwant:\n%s", arrows, want)
		}
		// The critical path, as skiff trace marks and sums it.
		if got := b.Eval(`[...document.querySelectorAll("svg.diagram g.arrow[data-critical]")].map(g => g.dataset.name).join(",") + " " + document.getElementById("critical-path").textContent`); got != "etcd txn,schedule,start container,reconcile endpoints,program rules 1.31s" {
			t.Errorf("critical path %v", got)
		}
		// The browser laid the SVG out: the labels have a size.
		if w, _ := b.Eval(`document.querySelector("svg.diagram g.arrow text.label").getBBox().width`).(float64); w < 20 {
			t.Errorf("the first label is %vpx wide", w)
		}
		dom := b.DOM()
		for _, s := range []string{"Pod default/web-1 waited 20ms for the scheduler.", "cpu: requested 2000, free 1000 of 2000", "+  nodeName: node-a"} {
			if !strings.Contains(dom, s) {
				t.Errorf("the pod's page lacks %q", s)
			}
		}
		b.Screenshot("pod.png")
	})
}
