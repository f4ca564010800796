package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuotaLimitsAndAudit: with kubectl against `skiff up --audit-log-path`, a LimitRange fills
// in a pod's resources, a ResourceQuota refuses the pod over quota with upstream's message, the
// tables have upstream's columns, and the audit log records who created and who was refused.
func TestQuotaLimitsAndAudit(t *testing.T) {
	dir := t.TempDir()
	auditLog := filepath.Join(dir, "audit.log")
	s := startSkiffT(t, dir, "--audit-log-path", auditLog)
	ns := s.namespace(t)

	s.okIn(t, `apiVersion: v1
kind: LimitRange
metadata: {name: limits}
spec:
  limits:
  - type: Container
    default: {cpu: 200m, memory: 64Mi}
    max: {cpu: "1"}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: compute}
spec:
  hard: {pods: "1", requests.cpu: "1", limits.memory: 1Gi}
`, "apply", "-n", ns, "-f", "-")

	// The quota controller fills status.hard; until then admission says "status unknown".
	eventually(t, 60*time.Second, func() error {
		out := s.ok(t, "get", "quota", "compute", "-n", ns, "-o", "jsonpath={.status.hard.pods}")
		if out != "1" {
			return fmt.Errorf("status.hard.pods = %q", out)
		}
		return nil
	})
	pod := func(name, cpuLimit string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  containers:
  - name: app
    image: busybox
    resources: {limits: {cpu: %s}}
`, name, cpuLimit)
	}
	// Over the LimitRange's max: upstream's words.
	out := s.fails(t, pod("greedy", "2"), "apply", "-n", ns, "-f", "-")
	if !strings.Contains(out, `pods "greedy" is forbidden: maximum cpu usage per Container is 1, but limit is 2`) {
		t.Errorf("over the limit range: %s", out)
	}
	// The first pod fits (the ServiceAccount controller may still be creating "default").
	eventually(t, 60*time.Second, func() error {
		r := s.kubectlIn(t, pod("first", "500m"), "apply", "-n", ns, "-f", "-")
		if r.err != nil {
			return fmt.Errorf("%v", r)
		}
		return nil
	})
	if got := s.ok(t, "get", "pod", "first", "-n", ns, "-o", "jsonpath={.spec.containers[0].resources.requests.memory} {.metadata.annotations.kubernetes\\.io/limit-ranger}"); got != "64Mi LimitRanger plugin set: memory request for container app; memory limit for container app" {
		t.Errorf("defaults from the limit range: %q", got)
	}
	out = s.fails(t, pod("second", "500m"), "apply", "-n", ns, "-f", "-")
	if want := `pods "second" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=1, limited: pods=1`; !strings.Contains(out, want) {
		t.Errorf("over quota: %s\nwant %s", out, want)
	}

	header, rows := tableRows(t, s.ok(t, "get", "quota", "-n", ns))
	if strings.Join(header, " ") != "NAME AGE REQUEST LIMIT" || len(rows) != 1 || !strings.Contains(strings.Join(rows[0], " "), "pods: 1/1") ||
		!strings.Contains(strings.Join(rows[0], " "), "limits.memory: 64Mi/1Gi") {
		t.Errorf("kubectl get quota: %v %v", header, rows)
	}
	header, rows = tableRows(t, s.ok(t, "get", "limits", "-n", ns))
	if strings.Join(header, " ") != "NAME CREATED AT" || len(rows) != 1 || rows[0][0] != "limits" {
		t.Errorf("kubectl get limitranges: %v %v", header, rows)
	}

	// The audit log: JSON lines of audit.k8s.io/v1 events, with who did what.
	type event struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Level      string `json:"level"`
		Verb       string `json:"verb"`
		User       struct {
			Username string `json:"username"`
		} `json:"user"`
		ObjectRef *struct {
			Resource, Namespace, Name string
		} `json:"objectRef"`
		ResponseStatus *struct {
			Code int `json:"code"`
		} `json:"responseStatus"`
	}
	find := func(name string, code int) error {
		f, err := os.Open(auditLog)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var e event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				return fmt.Errorf("audit line %q: %w", sc.Text(), err)
			}
			if e.APIVersion != "audit.k8s.io/v1" || e.Kind != "Event" {
				return fmt.Errorf("audit line of %s %s", e.APIVersion, e.Kind)
			}
			if e.Verb == "create" && e.ObjectRef != nil && e.ObjectRef.Resource == "pods" && e.ObjectRef.Namespace == ns &&
				e.ObjectRef.Name == name && e.ResponseStatus != nil && e.ResponseStatus.Code == code {
				if e.User.Username != "skiff-admin" || e.Level != "Metadata" {
					return fmt.Errorf("event for %s: user %q level %s", name, e.User.Username, e.Level)
				}
				return nil
			}
		}
		return fmt.Errorf("no create of pod %s answered %d in the audit log", name, code)
	}
	eventually(t, 20*time.Second, func() error {
		if err := find("first", 201); err != nil {
			return err
		}
		return find("second", 403)
	})
	s.ok(t, "delete", "namespace", ns, "--wait=false")
}
