package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestInvalidManifests checks that kubectl shows upstream kube-apiserver's error text.
func TestInvalidManifests(t *testing.T) {
	s := sharedCluster(t)
	ns := s.namespace(t)
	deployment := func(name, selector, label, extra string) string {
		return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
spec:%s
  selector:
    matchLabels:
      app: %s
  template:
    metadata:
      labels:
        app: %s
    spec:
      containers:
      - name: c
        image: nginx
`, name, extra, selector, label)
	}
	for _, tc := range []struct {
		name, manifest string
		// want are substrings of stderr, in order.
		want []string
	}{
		{"deployment-selector-mismatch", deployment("x", "a", "b", ""),
			[]string{`The Deployment "x" is invalid: spec.template.metadata.labels: Invalid value: `, "`selector` does not match template `labels`"}},
		{"deployment-negative-replicas", deployment("neg", "a", "a", "\n  replicas: -1"),
			[]string{`The Deployment "neg" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`}},
		{"pod-no-containers", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: empty\nspec:\n  containers: []\n",
			[]string{`The Pod "empty" is invalid: spec.containers: Required value`}},
		{"pod-no-image", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: noimage\nspec:\n  containers:\n  - name: c\n",
			[]string{`The Pod "noimage" is invalid: spec.containers[0].image: Required value`}},
		{"configmap-bad-name", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n",
			[]string{`The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters`}},
		{"service-no-ports", "apiVersion: v1\nkind: Service\nmetadata:\n  name: noports\nspec:\n  selector:\n    app: x\n",
			[]string{`The Service "noports" is invalid: spec.ports: Required value`}},
		{"unknown-field", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strict\nfoo: bar\n",
			[]string{`Error from server (BadRequest): error when creating "STDIN": ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "foo"`}},
		{"malformed-yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n",
			[]string{"error: error parsing STDIN: error converting YAML to JSON: yaml: line 4"}},
		{"missing-kind", "apiVersion: v1\nmetadata:\n  name: nokind\n",
			[]string{`error: error validating "STDIN": error validating data: kind not set`}},
		{"unknown-kind", "apiVersion: v1\nkind: Widget\nmetadata:\n  name: w\n",
			[]string{`resource mapping not found for name: "w" namespace: "" from "STDIN": no matches for kind "Widget" in version "v1"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stderr := s.fails(t, tc.manifest, "apply", "-n", ns, "-f", "-")
			rest := stderr
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
					return
				}
				rest = rest[i+len(w):]
			}
		})
	}
	t.Run("malformed-json-file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(f, []byte(`{"apiVersion":"v1","kind":"ConfigMap",`), 0o600); err != nil {
			t.Fatal(err)
		}
		stderr := s.fails(t, "", "apply", "-n", ns, "-f", f)
		if !strings.Contains(stderr, "error: error parsing "+f) {
			t.Errorf("stderr %q", stderr)
		}
	})
	t.Run("malformed-json-raw", func(t *testing.T) {
		// The server itself rejects a body it cannot parse.
		f := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(f, []byte(`{"apiVersion":"v1","kind":"ConfigMap",`), 0o600); err != nil {
			t.Fatal(err)
		}
		stderr := s.fails(t, "", "create", "--raw", "/api/v1/namespaces/"+ns+"/configmaps", "-f", f)
		if !strings.Contains(stderr, "Error from server (BadRequest)") {
			t.Errorf("stderr %q", stderr)
		}
	})
	// Every namespace has the kube-root-ca.crt ConfigMap, as upstream.
	if out := s.ok(t, "get", "all,cm", "-n", ns, "-o", "name", "--field-selector", "metadata.name!=kube-root-ca.crt"); strings.TrimSpace(out) != "" {
		t.Errorf("invalid manifests left objects: %q", out)
	}
}

func TestNamespaceLifecycle(t *testing.T) {
	s := sharedCluster(t)
	cm := func(ns, name string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\n", name, ns)
	}
	t.Run("missing", func(t *testing.T) {
		stderr := s.fails(t, cm("missing", "c"), "apply", "-f", "-")
		if want := `Error from server (NotFound): error when creating "STDIN": namespaces "missing" not found`; !strings.Contains(stderr, want) {
			t.Errorf("stderr %q, want %q", stderr, want)
		}
		stderr = s.fails(t, "", "create", "configmap", "c", "-n", "missing")
		if want := `namespaces "missing" not found`; !strings.Contains(stderr, want) {
			t.Errorf("stderr %q, want %q", stderr, want)
		}
	})
	t.Run("terminating", func(t *testing.T) {
		ns := s.namespace(t)
		// A finalizer keeps the namespace terminating whether or not a namespace controller runs.
		s.ok(t, "create", "configmap", "hold", "-n", ns)
		s.ok(t, "patch", "configmap", "hold", "-n", ns, "--type", "merge", "-p", `{"metadata":{"finalizers":["e2e.skiff.dev/hold"]}}`)
		if out := s.ok(t, "delete", "namespace", ns, "--wait=false"); !strings.Contains(out, fmt.Sprintf(`namespace "%s" deleted`, ns)) {
			t.Errorf("delete namespace: %q", out)
		}
		if got := s.ok(t, "get", "namespace", ns, "-o", "jsonpath={.status.phase}"); got != "Terminating" {
			t.Errorf("phase %q, want Terminating", got)
		}
		stderr := s.fails(t, cm(ns, "late"), "apply", "-f", "-")
		want := fmt.Sprintf(`configmaps "late" is forbidden: unable to create new content in namespace %s because it is being terminated`, ns)
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q, want %q", stderr, want)
		}
		if !strings.Contains(stderr, "Error from server (Forbidden)") {
			t.Errorf("stderr %q lacks Forbidden", stderr)
		}
		// Release it so a namespace controller, if any, can finish.
		s.ok(t, "patch", "configmap", "hold", "-n", ns, "--type", "merge", "-p", `{"metadata":{"finalizers":null}}`)
	})
	for _, ns := range []string{"kube-system", "default", "kube-public", "kube-node-lease"} {
		t.Run("delete-"+ns, func(t *testing.T) {
			stderr := s.fails(t, "", "delete", "namespace", ns)
			want := fmt.Sprintf(`Error from server (Forbidden): namespaces "%s" is forbidden: this namespace may not be deleted`, ns)
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr %q, want %q", stderr, want)
			}
			if got := s.ok(t, "get", "namespace", ns, "-o", "jsonpath={.status.phase}"); got != "Active" {
				t.Errorf("phase %q after refused delete", got)
			}
		})
	}
}

func TestChunking(t *testing.T) {
	s := sharedCluster(t)
	ns := s.namespace(t)
	const n = 25
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for i := range n {
		fmt.Fprintf(&b, "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: chunk-%02d\n    labels:\n      batch: chunk\n  data:\n    i: %q\n", i, fmt.Sprint(i))
	}
	s.okIn(t, b.String(), "create", "-n", ns, "-f", "-")
	for _, format := range []string{"name", ""} {
		t.Run("output="+format, func(t *testing.T) {
			args := []string{"get", "cm", "-n", ns, "-l", "batch=chunk", "--chunk-size=2", "-v=6"}
			if format != "" {
				args = append(args, "-o", format)
			}
			r := s.kubectl(t, args...)
			if r.err != nil {
				t.Fatalf("%v", r)
			}
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if format == "" {
				lines = lines[1:] // header
			}
			if len(lines) != n {
				t.Errorf("got %d objects, want %d:\n%s", len(lines), n, r.stdout)
			}
			for i, l := range lines {
				if want := fmt.Sprintf("chunk-%02d", i); !strings.Contains(l, want) {
					t.Errorf("line %d = %q, want %s (in order)", i, l, want)
				}
			}
			// kubectl logs each request at -v=6: 13 pages, 12 of them with a continue token.
			pages := regexp.MustCompile(`GET https://\S+/configmaps\?\S*limit=2`).FindAllString(r.stderr, -1)
			conts := regexp.MustCompile(`GET https://\S+/configmaps\?\S*continue=`).FindAllString(r.stderr, -1)
			if len(pages) != (n+1)/2 || len(conts) != (n+1)/2-1 {
				t.Errorf("%d page requests (%d with continue), want %d (%d):\n%s", len(pages), len(conts), (n+1)/2, (n+1)/2-1, r.stderr)
			}
		})
	}
}
