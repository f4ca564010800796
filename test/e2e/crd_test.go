package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.e2e.skiff.dev
spec:
  group: e2e.skiff.dev
  names: {kind: Widget, plural: widgets, singular: widget, shortNames: [wdg]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Color, type: string, jsonPath: .spec.color}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1, description: "How big the widget is."}
              color: {type: string, default: blue}
          status:
            type: object
            properties:
              phase: {type: string}
`

// TestCustomResources drives a CRD through kubectl: served at once, validated with field paths,
// defaulted, printed with its columns, explained, and collected by the garbage collector.
func TestCustomResources(t *testing.T) {
	s := sharedCluster(t)
	ns := s.namespace(t)
	s.okIn(t, widgetCRD, "apply", "-f", "-")
	s.ok(t, "wait", "--for=condition=Established", "crd/widgets.e2e.skiff.dev", "--timeout=30s")

	eventually(t, 30*time.Second, func() error {
		r := s.kubectlIn(t, "apiVersion: e2e.skiff.dev/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}\n", "apply", "-n", ns, "-f", "-")
		return r.err
	})
	out := s.ok(t, "get", "wdg", "-n", ns)
	header, rows := tableRows(t, out)
	// Declared printer columns replace the default AGE column, as upstream.
	if strings.Join(header, ",") != "NAME,SIZE,COLOR" || len(rows) != 1 || rows[0][0] != "w1" || rows[0][1] != "3" || rows[0][2] != "blue" {
		t.Errorf("kubectl get wdg: printer columns or defaulting wrong:\n%s", out)
	}

	stderr := s.fails(t, "apiVersion: e2e.skiff.dev/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {size: 0}\n", "apply", "-n", ns, "-f", "-")
	if want := `The Widget "w2" is invalid: spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1`; !strings.Contains(stderr, want) {
		t.Errorf("invalid widget: stderr %q, want %q", stderr, want)
	}

	explain := s.ok(t, "explain", "widget.spec.size")
	if !strings.Contains(explain, "How big the widget is.") {
		t.Errorf("explain widget.spec.size:\n%s", explain)
	}

	s.ok(t, "patch", "widget", "w1", "-n", ns, "--type=merge", "-p", `{"spec":{"size":5}}`)
	s.ok(t, "patch", "widget", "w1", "-n", ns, "--subresource=status", "--type=merge", "-p", `{"status":{"phase":"Ready"}}`)
	got := s.ok(t, "get", "widget", "w1", "-n", ns, "-o", "jsonpath={.spec.size} {.status.phase}")
	if got != "5 Ready" {
		t.Errorf("after spec and status patches: %q, want \"5 Ready\"", got)
	}
	// A status write through the main resource is ignored, as upstream with a status subresource.
	s.ok(t, "patch", "widget", "w1", "-n", ns, "--type=merge", "-p", `{"status":{"phase":"Hacked"}}`)
	if got := s.ok(t, "get", "widget", "w1", "-n", ns, "-o", "jsonpath={.status.phase}"); got != "Ready" {
		t.Errorf("main-resource patch changed status to %q", got)
	}

	// A ConfigMap owned by the widget goes with it.
	uid := s.ok(t, "get", "widget", "w1", "-n", ns, "-o", "jsonpath={.metadata.uid}")
	s.okIn(t, fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: owned
  ownerReferences:
  - {apiVersion: e2e.skiff.dev/v1, kind: Widget, name: w1, uid: %s}
data: {a: b}
`, uid), "apply", "-n", ns, "-f", "-")
	s.ok(t, "delete", "widget", "w1", "-n", ns)
	// The garbage collector rediscovers kinds periodically (30 s, as upstream), so allow for it.
	eventually(t, 90*time.Second, func() error {
		if r := s.kubectl(t, "get", "cm", "owned", "-n", ns); r.err == nil {
			return fmt.Errorf("configmap owned by a deleted widget still exists")
		}
		return nil
	})
}
