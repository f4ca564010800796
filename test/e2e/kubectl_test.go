package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// applyApp applies testdata/app.yaml into a new namespace and returns the namespace.
func applyApp(t *testing.T, s *skiff) string {
	t.Helper()
	ns := s.namespace(t)
	s.ok(t, "apply", "-n", ns, "-f", "testdata/app.yaml")
	return ns
}

func TestApplyManifest(t *testing.T) {
	s := sharedCluster(t)
	ns := s.namespace(t)
	out := s.ok(t, "apply", "-n", ns, "-f", "testdata/app.yaml")
	for _, want := range []string{
		"configmap/web-config created",
		"deployment.apps/web created",
		"replicaset.apps/cache created",
		"pod/solo created",
		"service/web created",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("apply output lacks %q:\n%s", want, out)
		}
	}
	got := strings.Fields(s.ok(t, "get", "-n", ns, "configmaps,deployments,replicasets,pods,services", "-o", "name"))
	want := []string{"configmap/web-config", "deployment.apps/web", "replicaset.apps/cache", "pod/solo", "service/web"}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("get -o name lacks %s: %v", w, got)
		}
	}
	// Applying again changes nothing.
	out = s.ok(t, "apply", "-n", ns, "-f", "testdata/app.yaml")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasSuffix(line, " unchanged") {
			t.Errorf("second apply: %q, want every object unchanged", line)
		}
	}
	// `get all` uses the "all" category.
	all := s.ok(t, "get", "all", "-n", ns, "-o", "name")
	for _, w := range []string{"pod/solo", "service/web", "deployment.apps/web", "replicaset.apps/cache"} {
		if !strings.Contains(all, w) {
			t.Errorf("get all lacks %s:\n%s", w, all)
		}
	}
}

func TestGetColumns(t *testing.T) {
	s := sharedCluster(t)
	ns := applyApp(t, s)
	for _, tc := range []struct {
		args   []string
		header []string
		// row holds expected leading cells of the single row ("" skips a cell).
		row []string
	}{
		{[]string{"pods"}, []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}, []string{"solo", "0/1", "Pending", "0"}},
		{[]string{"pods", "-o", "wide"}, []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"},
			[]string{"solo", "0/1", "Pending", "0", "", "<none>", "<none>", "<none>", "<none>"}},
		{[]string{"deployments"}, []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"}, []string{"web", "0/3", "3", "0"}},
		{[]string{"deploy", "-o", "wide"}, []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"},
			[]string{"web", "0/3", "3", "0", "", "web", "nginx:1.25", "app=web"}},
		{[]string{"replicasets"}, []string{"NAME", "DESIRED", "CURRENT", "READY", "AGE"}, []string{"cache", "2", "2", "0"}},
		{[]string{"svc"}, []string{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"}, []string{"web", "ClusterIP", "", "<none>", "80/TCP"}},
		{[]string{"svc", "-o", "wide"}, []string{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"},
			[]string{"web", "ClusterIP", "", "<none>", "80/TCP", "", "app=web"}},
		{[]string{"cm"}, []string{"NAME", "DATA", "AGE"}, []string{"web-config", "1"}},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			out := s.ok(t, append([]string{"get", "-n", ns}, tc.args...)...)
			header, rows := tableRows(t, out)
			if !slices.Equal(header, tc.header) {
				t.Errorf("header = %q, want %q\n%s", header, tc.header, out)
			}
			// The row of the object named in tc.row (controllers, once they run, add others).
			var row []string
			for _, r := range rows {
				if len(r) > 0 && r[0] == tc.row[0] {
					row = r
				}
			}
			if row == nil {
				t.Fatalf("no row for %s:\n%s", tc.row[0], out)
			}
			if len(row) != len(tc.header) {
				t.Errorf("row has %d cells, header %d:\n%s", len(row), len(tc.header), out)
			}
			// The shared cluster has controllers but no nodes: workloads have their pods, which
			// stay Pending, as on a Kubernetes cluster without nodes.
			for i, want := range tc.row {
				if want != "" && (i >= len(row) || row[i] != want) {
					t.Errorf("cell %s = %q, want %q\n%s", tc.header[i], cell(row, i), want, out)
				}
			}
			// AGE is a short duration such as 3s or 2m.
			age := slices.Index(tc.header, "AGE")
			if age >= 0 && !regexp.MustCompile(`^\d+[smhd]`).MatchString(cell(row, age)) {
				t.Errorf("AGE = %q", cell(row, age))
			}
		})
	}
	t.Run("no-headers", func(t *testing.T) {
		out := s.ok(t, "get", "pods", "-n", ns, "--no-headers")
		found := false
		for _, line := range strings.Split(out, "\n") {
			if f := fields(line); len(f) > 0 && f[0] == "solo" {
				found = true
			}
			if strings.HasPrefix(line, "NAME") {
				t.Errorf("--no-headers printed a header: %q", out)
			}
		}
		if !found {
			t.Errorf("--no-headers: no row for solo: %q", out)
		}
	})
	t.Run("show-labels", func(t *testing.T) {
		out := s.ok(t, "get", "pods", "-n", ns, "--show-labels")
		if !strings.Contains(out, "LABELS") || !strings.Contains(out, "app=solo") {
			t.Errorf("--show-labels: %q", out)
		}
	})
	t.Run("all-namespaces", func(t *testing.T) {
		out := s.ok(t, "get", "pods", "-A")
		header, rows := tableRows(t, out)
		if len(header) == 0 || header[0] != "NAMESPACE" {
			t.Errorf("-A header: %q", header)
		}
		found := false
		for _, r := range rows {
			found = found || (len(r) > 1 && r[0] == ns && r[1] == "solo")
		}
		if !found {
			t.Errorf("-A lacks %s/solo:\n%s", ns, out)
		}
	})
}

func cell(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return "<missing>"
}

func TestGetOutputFormats(t *testing.T) {
	s := sharedCluster(t)
	ns := applyApp(t, s)
	type obj struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name, Namespace, UID, ResourceVersion string
			CreationTimestamp                     string `json:"creationTimestamp"`
		} `json:"metadata"`
	}
	check := func(t *testing.T, o obj, kind string) {
		t.Helper()
		if o.Kind != kind || o.Metadata.Name == "" || o.Metadata.Namespace != ns || o.Metadata.UID == "" ||
			o.Metadata.ResourceVersion == "" || o.Metadata.CreationTimestamp == "" {
			t.Errorf("object lacks identity: %+v", o)
		}
	}
	t.Run("yaml", func(t *testing.T) {
		var o obj
		if err := yaml.Unmarshal([]byte(s.ok(t, "get", "pod", "solo", "-n", ns, "-o", "yaml")), &o); err != nil {
			t.Fatal(err)
		}
		check(t, o, "Pod")
		if o.APIVersion != "v1" {
			t.Errorf("apiVersion %q", o.APIVersion)
		}
	})
	t.Run("json", func(t *testing.T) {
		var o obj
		if err := json.Unmarshal([]byte(s.ok(t, "get", "deployment", "web", "-n", ns, "-o", "json")), &o); err != nil {
			t.Fatal(err)
		}
		check(t, o, "Deployment")
		if o.APIVersion != "apps/v1" {
			t.Errorf("apiVersion %q", o.APIVersion)
		}
	})
	t.Run("json-list", func(t *testing.T) {
		var l struct {
			Kind  string `json:"kind"`
			Items []obj  `json:"items"`
		}
		if err := json.Unmarshal([]byte(s.ok(t, "get", "pod/solo", "cm/web-config", "-n", ns, "-o", "json")), &l); err != nil {
			t.Fatal(err)
		}
		if l.Kind != "List" || len(l.Items) != 2 {
			t.Errorf("list: kind %q, %d items", l.Kind, len(l.Items))
		}
	})
	for _, tc := range []struct{ args, want string }{
		{"pod solo -o jsonpath={.spec.containers[0].image}", "busybox:1.36"},
		{"deploy web -o jsonpath={.spec.replicas}/{.spec.selector.matchLabels.app}", "3/web"},
		{"svc web -o jsonpath={.spec.ports[0].port}{.spec.ports[0].targetPort}", "80http"},
		{"cm web-config -o jsonpath={.data.greeting}", "hello"},
		{"pods -l app=solo -o jsonpath={.items[*].metadata.name}", "solo"},
		{"pod solo -o custom-columns=N:.metadata.name,I:.spec.containers[0].image --no-headers", "solo   busybox:1.36"},
		{"rs cache -o name", "replicaset.apps/cache"},
		{"pod solo -o go-template={{.status.phase}}", "Pending"},
	} {
		t.Run(tc.args, func(t *testing.T) {
			args := append([]string{"get", "-n", ns}, strings.Fields(tc.args)...)
			if got := strings.TrimSpace(s.ok(t, args...)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("not-found", func(t *testing.T) {
		stderr := s.fails(t, "", "get", "pod", "nope", "-n", ns)
		if want := `Error from server (NotFound): pods "nope" not found`; !strings.Contains(stderr, want) {
			t.Errorf("stderr %q, want %q", stderr, want)
		}
	})
}

func TestDescribePod(t *testing.T) {
	s := sharedCluster(t)
	ns := applyApp(t, s)
	// The scheduler's event may lag the pod's creation: wait for it before reading the rest.
	failed := regexp.MustCompile(`(?m)^\s+Warning\s+FailedScheduling\s+\S+\s+default-scheduler\s+no nodes available to schedule pods$`)
	var out string
	eventually(t, 30*time.Second, func() error {
		out = s.ok(t, "describe", "pod", "solo", "-n", ns)
		if !failed.MatchString(out) {
			return fmt.Errorf("no FailedScheduling event yet:\n%s", out)
		}
		return nil
	})
	for _, re := range []string{
		`(?m)^Name:\s+solo$`,
		`(?m)^Namespace:\s+` + ns + `$`,
		`(?m)^Labels:\s+app=solo$`,
		`(?m)^Status:\s+Pending$`,
		`(?m)^Containers:$`,
		`(?m)^  main:$`,
		`(?m)^\s+Image:\s+busybox:1.36$`,
		`(?m)^\s+sleep$`,
		`(?m)^QoS Class:\s+BestEffort$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("describe lacks %s:\n%s", re, out)
		}
	}
	out = s.ok(t, "describe", "deployment", "web", "-n", ns)
	for _, re := range []string{`(?m)^Name:\s+web$`, `(?m)^Selector:\s+app=web$`, `(?m)^Replicas:\s+3 desired`, `(?m)^\s+Image:\s+nginx:1.25$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("describe deployment lacks %s:\n%s", re, out)
		}
	}
}

func TestLabelAnnotate(t *testing.T) {
	s := sharedCluster(t)
	ns := applyApp(t, s)
	steps := []struct {
		args    string
		wantOut string // stdout contains
		wantErr string // stderr contains (and the command fails)
	}{
		{"label pod solo tier=front", "pod/solo labeled", ""},
		{"label pod solo tier=back", "", "'tier' already has a value (front), and --overwrite is false"},
		{"label pod solo tier=back --overwrite", "pod/solo labeled", ""},
		{"get pods -l tier=back -o name", "pod/solo", ""},
		{"get pods -l tier=front -o name", "", ""},
		{"label pod solo tier-", "pod/solo unlabeled", ""},
		{"annotate pod solo note=hello", "pod/solo annotated", ""},
		{"get pod solo -o jsonpath={.metadata.annotations.note}", "hello", ""},
		{"annotate pod solo note=again", "", "--overwrite is false but found the following declared annotation(s): 'note' already has a value (hello)"},
		{"annotate pod solo note-", "pod/solo annotated", ""},
		{"label deploy,svc --all env=test", "deployment.apps/web labeled", ""},
		{"get svc -l env=test -o name", "service/web", ""},
	}
	for _, st := range steps {
		args := append(strings.Fields(st.args), "-n", ns)
		r := s.kubectl(t, args...)
		if st.wantErr != "" {
			if r.err == nil || !strings.Contains(r.stderr, st.wantErr) {
				t.Errorf("want failure with %q: %v", st.wantErr, r)
			}
			continue
		}
		if r.err != nil {
			t.Errorf("%v", r)
			continue
		}
		if st.wantOut == "" && strings.TrimSpace(r.stdout) != "" {
			t.Errorf("kubectl %s: want no output, got %q", st.args, r.stdout)
		}
		if !strings.Contains(r.stdout, st.wantOut) {
			t.Errorf("kubectl %s: stdout %q lacks %q", st.args, r.stdout, st.wantOut)
		}
	}
	if got := s.ok(t, "get", "pod", "solo", "-n", ns, "-o", "jsonpath={.metadata.labels}"); got != `{"app":"solo"}` {
		t.Errorf("labels after removal: %s", got)
	}
}

func TestPatch(t *testing.T) {
	s := sharedCluster(t)
	ns := applyApp(t, s)
	for _, tc := range []struct {
		name, typ, target, patch string
		jsonpath, want           string
	}{
		// Strategic merge on a list keyed by name keeps the container's other fields (env).
		{"strategic", "strategic", "deploy/web", `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.26"}]}}}}`,
			`{.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[0].name} {.metadata.generation}`, "nginx:1.26 GREETING 2"},
		{"merge", "merge", "pod/solo", `{"metadata":{"labels":{"m":"1"}}}`, `{.metadata.labels.m}/{.metadata.labels.app}`, "1/solo"},
		{"merge-null-deletes", "merge", "cm/web-config", `{"data":{"greeting":null,"other":"x"}}`, `{.data}`, `{"other":"x"}`},
		{"json-add", "json", "pod/solo", `[{"op":"add","path":"/metadata/labels/j","value":"2"}]`, `{.metadata.labels.j}`, "2"},
		{"json-replace", "json", "svc/web", `[{"op":"replace","path":"/spec/ports/0/port","value":8080}]`, `{.spec.ports[0].port}`, "8080"},
		{"strategic-replicas", "strategic", "rs/cache", `{"spec":{"replicas":4}}`, `{.spec.replicas}`, "4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := s.ok(t, "patch", tc.target, "-n", ns, "--type", tc.typ, "-p", tc.patch)
			if !strings.Contains(out, " patched") {
				t.Errorf("patch output %q", out)
			}
			if got := s.ok(t, "get", tc.target, "-n", ns, "-o", "jsonpath="+tc.jsonpath); got != tc.want {
				t.Errorf("after patch: %s = %q, want %q", tc.jsonpath, got, tc.want)
			}
		})
	}
	t.Run("no-change", func(t *testing.T) {
		out := s.ok(t, "patch", "pod/solo", "-n", ns, "--type", "merge", "-p", `{"metadata":{"labels":{"app":"solo"}}}`)
		if !strings.Contains(out, "pod/solo patched (no change)") {
			t.Errorf("no-op patch output %q", out)
		}
	})
	t.Run("json-test-fails", func(t *testing.T) {
		stderr := s.fails(t, "", "patch", "pod/solo", "-n", ns, "--type", "json", "-p", `[{"op":"test","path":"/metadata/name","value":"other"}]`)
		// The server answers 422 with no causes; kubectl prints its generic text for that.
		if !strings.Contains(stderr, "The request is invalid") {
			t.Errorf("stderr %q", stderr)
		}
	})
	t.Run("immutable-selector", func(t *testing.T) {
		// spec.selector of a Deployment is immutable in apps/v1.
		stderr := s.fails(t, "", "patch", "deploy/web", "-n", ns, "--type", "merge", "-p",
			`{"spec":{"selector":{"matchLabels":{"app":"other"}},"template":{"metadata":{"labels":{"app":"other"}}}}}`)
		if want := `The Deployment "web" is invalid: spec.selector: Invalid value: `; !strings.Contains(stderr, want) || !strings.Contains(stderr, "field is immutable") {
			t.Errorf("stderr %q, want %q ... field is immutable", stderr, want)
		}
	})
}

func TestServerSideApply(t *testing.T) {
	s := sharedCluster(t)
	ns := s.namespace(t)
	cm := func(v string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: %s\ndata:\n  a: %q\n", ns, v)
	}
	if out := s.okIn(t, cm("1"), "apply", "--server-side", "-f", "-"); strings.TrimSpace(out) != "configmap/ssa serverside-applied" {
		t.Errorf("first apply: %q", out)
	}
	// Another manager setting the same field to another value conflicts.
	stderr := s.fails(t, cm("2"), "apply", "--server-side", "--field-manager", "other", "-f", "-")
	// An Apply manager is named alone; an Update manager with "using v1" (below).
	want := `Apply failed with 1 conflict: conflict with "kubectl": .data.a`
	if !strings.Contains(stderr, want) || !strings.Contains(stderr, "--force-conflicts") {
		t.Errorf("conflict stderr %q, want %q", stderr, want)
	}
	if out := s.okIn(t, cm("2"), "apply", "--server-side", "--field-manager", "other", "--force-conflicts", "-f", "-"); !strings.Contains(out, "serverside-applied") {
		t.Errorf("forced apply: %q", out)
	}
	if got := s.ok(t, "get", "cm", "ssa", "-n", ns, "-o", "jsonpath={.data.a}"); got != "2" {
		t.Errorf("data.a = %q after forced apply", got)
	}
	managers := s.ok(t, "get", "cm", "ssa", "-n", ns, "--show-managed-fields", "-o", "jsonpath={range .metadata.managedFields[*]}{.manager}:{.operation} {end}")
	if !strings.Contains(managers, "other:Apply") {
		t.Errorf("managedFields managers %q lack other:Apply", managers)
	}
	// An object made by kubectl create conflicts with kubectl's own server-side apply.
	s.ok(t, "create", "cm", "made", "-n", ns, "--from-literal=a=1")
	stderr = s.fails(t, strings.Replace(cm("3"), "name: ssa", "name: made", 1), "apply", "--server-side", "-f", "-")
	if want := `conflict with "kubectl-create" using v1: .data.a`; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	// Server-side apply of the whole app, twice.
	for range 2 {
		out := s.ok(t, "apply", "--server-side", "-n", ns, "-f", "testdata/app.yaml")
		if n := strings.Count(out, "serverside-applied"); n != 5 {
			t.Errorf("server-side apply of app.yaml: %q", out)
		}
	}
	// Client-side apply leaves its last-applied annotation.
	s.okIn(t, strings.Replace(cm("1"), "name: ssa", "name: csa", 1), "apply", "-f", "-")
	if got := s.ok(t, "get", "cm", "csa", "-n", ns, "-o", `jsonpath={.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration}`); !strings.Contains(got, `"name":"csa"`) {
		t.Errorf("last-applied-configuration = %q", got)
	}
}

func TestReplace(t *testing.T) {
	s := sharedCluster(t)
	ns := s.namespace(t)
	s.ok(t, "create", "cm", "r", "-n", ns, "--from-literal=k=v1")
	current := s.ok(t, "get", "cm", "r", "-n", ns, "-o", "yaml")
	updated := strings.Replace(current, "k: v1", "k: v2", 1)
	if out := s.okIn(t, updated, "replace", "-f", "-"); strings.TrimSpace(out) != "configmap/r replaced" {
		t.Errorf("replace: %q", out)
	}
	if got := s.ok(t, "get", "cm", "r", "-n", ns, "-o", "jsonpath={.data.k}"); got != "v2" {
		t.Errorf("after replace: %q", got)
	}
	// The first read's resourceVersion is now stale.
	stale := strings.Replace(current, "k: v1", "k: v3", 1)
	stderr := s.fails(t, stale, "replace", "-f", "-")
	if want := `Operation cannot be fulfilled on configmaps "r": the object has been modified; please apply your changes to the latest version and try again`; !strings.Contains(stderr, want) {
		t.Errorf("stale replace stderr %q, want %q", stderr, want)
	}
	// replace --force deletes and recreates: a new uid.
	uid := s.ok(t, "get", "cm", "r", "-n", ns, "-o", "jsonpath={.metadata.uid}")
	manifest := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: r\n  namespace: %s\ndata:\n  k: v4\n", ns)
	s.okIn(t, manifest, "replace", "--force", "-f", "-")
	if got := s.ok(t, "get", "cm", "r", "-n", ns, "-o", "jsonpath={.metadata.uid}/{.data.k}"); got == uid+"/v4" || !strings.HasSuffix(got, "/v4") {
		t.Errorf("after replace --force: %q (old uid %s)", got, uid)
	}
	// Replacing a missing object fails.
	stderr = s.fails(t, strings.Replace(manifest, "name: r", "name: gone", 1), "replace", "-f", "-")
	if want := `configmaps "gone" not found`; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
}

func TestDelete(t *testing.T) {
	s := sharedCluster(t)
	ns := applyApp(t, s)
	for _, tc := range []struct{ args, want string }{
		{"delete cm web-config", `configmap "web-config" deleted`},
		{"delete pod solo", `pod "solo" deleted`}, // unscheduled: deleted at once, so kubectl's wait ends
		{"delete -f testdata/app.yaml --ignore-not-found", `deployment.apps "web" deleted`},
	} {
		out := s.ok(t, append(strings.Fields(tc.args), "-n", ns)...)
		if !strings.Contains(out, tc.want) {
			t.Errorf("kubectl %s: %q, want %q", tc.args, out, tc.want)
		}
	}
	left := s.ok(t, "get", "all,cm", "-n", ns, "-o", "name")
	for _, gone := range []string{"configmap/web-config", "pod/solo", "deployment.apps/web", "replicaset.apps/cache", "service/web"} {
		if slices.Contains(strings.Fields(left), gone) {
			t.Errorf("%s left after delete", gone)
		}
	}
	stderr := s.fails(t, "", "get", "cm", "web-config", "-n", ns)
	if want := `Error from server (NotFound): configmaps "web-config" not found`; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	stderr = s.fails(t, "", "delete", "cm", "web-config", "-n", ns)
	if want := `Error from server (NotFound): configmaps "web-config" not found`; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	// By label selector.
	for i := range 3 {
		s.ok(t, "create", "cm", fmt.Sprintf("l%d", i), "-n", ns)
	}
	s.ok(t, "label", "cm", "l0", "l1", "-n", ns, "del=yes")
	out := s.ok(t, "delete", "cm", "-l", "del=yes", "-n", ns)
	if !strings.Contains(out, `configmap "l0" deleted`) || !strings.Contains(out, `configmap "l1" deleted`) || strings.Contains(out, "l2") {
		t.Errorf("delete -l: %q", out)
	}
	if got := strings.TrimSpace(s.ok(t, "get", "cm", "-n", ns, "-o", "name", "--field-selector", "metadata.name!=kube-root-ca.crt")); got != "configmap/l2" {
		t.Errorf("after delete -l: %q", got)
	}
}

func TestWatch(t *testing.T) {
	s := sharedCluster(t)
	ns := s.namespace(t)
	s.ok(t, "create", "cm", "w1", "-n", ns, "--from-literal=a=1")
	w := s.kubectlBackground(t, 60*time.Second, "get", "cm", "-n", ns, "--watch", "--output-watch-events")
	w.waitLine(t, `^EVENT\s+NAME\s+DATA\s+AGE$`, 30*time.Second)
	w.waitLine(t, `^ADDED\s+w1\s+1\s`, 30*time.Second)
	s.ok(t, "patch", "cm", "w1", "-n", ns, "--type", "merge", "-p", `{"data":{"b":"2"}}`)
	w.waitLine(t, `^MODIFIED\s+w1\s+2\s`, 30*time.Second)
	s.ok(t, "create", "cm", "w2", "-n", ns)
	w.waitLine(t, `^ADDED\s+w2\s+0\s`, 30*time.Second)
	s.ok(t, "delete", "cm", "w1", "-n", ns)
	w.waitLine(t, `^DELETED\s+w1\s+2\s`, 30*time.Second)

	// A plain -w on one object prints a new row per change.
	p := s.kubectlBackground(t, 60*time.Second, "get", "cm", "w2", "-n", ns, "-w", "-o", "jsonpath={.metadata.name}={.data.v}{\"\\n\"}")
	p.waitLine(t, `^w2=$`, 30*time.Second)
	s.ok(t, "patch", "cm", "w2", "-n", ns, "--type", "merge", "-p", `{"data":{"v":"changed"}}`)
	p.waitLine(t, `^w2=changed$`, 30*time.Second)
}

func TestExplain(t *testing.T) {
	s := sharedCluster(t)
	for _, tc := range []struct {
		field string
		want  []string
	}{
		{"pod.spec", []string{"KIND:       Pod", "FIELD: spec <PodSpec>", "containers\t<[]Container> -required-"}},
		{"pods", []string{"KIND:       Pod", "VERSION:    v1", "spec\t<PodSpec>", "status\t<PodStatus>"}},
		{"deployment.spec.replicas", []string{"GROUP:      apps", "KIND:       Deployment", "FIELD: replicas <integer>"}},
		{"svc.spec.ports", []string{"KIND:       Service", "targetPort"}},
	} {
		t.Run(tc.field, func(t *testing.T) {
			out := s.ok(t, "explain", tc.field)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("explain %s lacks %q:\n%.1500s", tc.field, w, out)
				}
			}
		})
	}
}

func TestAPIResources(t *testing.T) {
	s := sharedCluster(t)
	out := s.ok(t, "api-resources")
	header, rows := tableRows(t, out)
	if want := []string{"NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"}; !slices.Equal(header, want) {
		t.Errorf("header %q, want %q", header, want)
	}
	for _, want := range [][]string{
		{"pods", "po", "v1", "true", "Pod"},
		{"namespaces", "ns", "v1", "false", "Namespace"},
		{"nodes", "no", "v1", "false", "Node"},
		{"services", "svc", "v1", "true", "Service"},
		{"configmaps", "cm", "v1", "true", "ConfigMap"},
		{"events", "ev", "v1", "true", "Event"},
		{"deployments", "deploy", "apps/v1", "true", "Deployment"},
		{"replicasets", "rs", "apps/v1", "true", "ReplicaSet"},
		{"daemonsets", "ds", "apps/v1", "true", "DaemonSet"},
		{"controllerrevisions", "apps/v1", "true", "ControllerRevision"},
		{"leases", "coordination.k8s.io/v1", "true", "Lease"},
		{"endpointslices", "discovery.k8s.io/v1", "true", "EndpointSlice"},
		{"poddisruptionbudgets", "pdb", "policy/v1", "true", "PodDisruptionBudget"},
	} {
		found := false
		for _, r := range rows {
			found = found || slices.Equal(fields(strings.Join(r, " ")), want)
		}
		if !found {
			t.Errorf("api-resources lacks row %q:\n%s", want, out)
		}
	}
	versions := s.ok(t, "api-versions")
	for _, v := range []string{"v1", "apps/v1", "coordination.k8s.io/v1", "discovery.k8s.io/v1", "events.k8s.io/v1"} {
		if !slices.Contains(strings.Fields(versions), v) {
			t.Errorf("api-versions lacks %s:\n%s", v, versions)
		}
	}
	cluster := s.ok(t, "api-resources", "--namespaced=false", "-o", "name")
	if !slices.Contains(strings.Fields(cluster), "namespaces") || slices.Contains(strings.Fields(cluster), "pods") {
		t.Errorf("--namespaced=false:\n%s", cluster)
	}
}

func TestAuthWhoami(t *testing.T) {
	s := sharedCluster(t)
	out := s.ok(t, "auth", "whoami")
	for _, re := range []string{`(?m)^Username\s+skiff-admin$`, `(?m)^Groups\s+\[.*system:masters.*\]$`, `system:authenticated`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("auth whoami lacks %s:\n%s", re, out)
		}
	}
}

func TestScale(t *testing.T) {
	s := sharedCluster(t)
	ns := applyApp(t, s)
	for _, tc := range []struct {
		args, wantOut, wantErr string
		target, replicas       string
	}{
		{"scale deploy web --replicas=5", "deployment.apps/web scaled", "", "deploy/web", "5"},
		{"scale deploy/web --replicas=1 --current-replicas=5", "deployment.apps/web scaled", "", "deploy/web", "1"},
		{"scale deploy/web --replicas=2 --current-replicas=3", "", "Expected replicas to be 3, was 1", "deploy/web", "1"},
		{"scale rs cache --replicas=0", "replicaset.apps/cache scaled", "", "rs/cache", "0"},
		{"scale deploy web --replicas=-1", "", "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0", "deploy/web", "1"},
	} {
		r := s.kubectl(t, append(strings.Fields(tc.args), "-n", ns)...)
		switch {
		case tc.wantErr != "" && (r.err == nil || !strings.Contains(r.stderr, tc.wantErr)):
			t.Errorf("want error %q: %v", tc.wantErr, r)
		case tc.wantErr == "" && (r.err != nil || !strings.Contains(r.stdout, tc.wantOut)):
			t.Errorf("want %q: %v", tc.wantOut, r)
		}
		if got := s.ok(t, "get", tc.target, "-n", ns, "-o", "jsonpath={.spec.replicas}"); got != tc.replicas {
			t.Errorf("after %s: replicas %s, want %s", tc.args, got, tc.replicas)
		}
	}
}

func TestVersion(t *testing.T) {
	s := sharedCluster(t)
	var v struct {
		ServerVersion struct {
			Major, Minor, GitVersion, Platform string
		} `json:"serverVersion"`
	}
	if err := json.Unmarshal([]byte(s.ok(t, "version", "-o", "json")), &v); err != nil {
		t.Fatal(err)
	}
	if sv := v.ServerVersion; sv.GitVersion != "v1.37.2" || sv.Major != "1" || sv.Minor != "37" || sv.Platform == "" {
		t.Errorf("serverVersion = %+v, want v1.37.2 (1, 37)", sv)
	}
	if out := s.ok(t, "version"); !strings.Contains(out, "Server Version: v1.37.2") {
		t.Errorf("kubectl version: %q", out)
	}
}
