package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// testBatch runs Jobs and a CronJob on a real node with kubectl: a Job completes, a failing one
// stops at its backoffLimit, a CronJob starts a Job at the next minute and on demand
// (kubectl create job --from).
func testBatch(t *testing.T, s *skiff, ns, image string) {
	// The CronJob first: its first start is up to a minute away.
	s.ok(t, "create", "cronjob", "tick", "-n", ns, "--image="+image, "--schedule=*/1 * * * *", "--", "sh", "-c", "echo tick")
	if out := s.ok(t, "get", "cronjob", "tick", "-n", ns); !strings.Contains(out, "*/1 * * * *") || !strings.Contains(out, "SCHEDULE") {
		t.Errorf("kubectl get cronjob:\n%s", out)
	}

	s.ok(t, "create", "job", "ok", "-n", ns, "--image="+image, "--", "sh", "-c", "echo done")
	s.ok(t, "wait", "-n", ns, "--for=condition=complete", "job/ok", "--timeout=90s")
	if out := s.ok(t, "get", "job", "ok", "-n", ns); !strings.Contains(out, "Complete") || !strings.Contains(out, "1/1") {
		t.Errorf("kubectl get job ok:\n%s", out)
	}
	if out := s.ok(t, "logs", "-n", ns, "job/ok"); strings.TrimSpace(out) != "done" {
		t.Errorf("kubectl logs job/ok: %q", out)
	}

	s.okIn(t, `apiVersion: batch/v1
kind: Job
metadata: {name: fail}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: `+image+`, command: [sh, -c, "exit 3"]}]
`, "apply", "-n", ns, "-f", "-")
	s.ok(t, "wait", "-n", ns, "--for=condition=failed", "job/fail", "--timeout=120s")
	if reason := s.ok(t, "get", "job", "fail", "-n", ns, "-o", `jsonpath={.status.conditions[?(@.type=="Failed")].reason}`); reason != "BackoffLimitExceeded" {
		t.Errorf("failed job's reason %q, want BackoffLimitExceeded", reason)
	}
	if failed := s.ok(t, "get", "job", "fail", "-n", ns, "-o", "jsonpath={.status.failed}"); failed != "2" {
		t.Errorf("failed job: status.failed %q, want 2 (backoffLimit 1)", failed)
	}

	s.ok(t, "create", "job", "manual", "-n", ns, "--from=cronjob/tick")
	s.ok(t, "wait", "-n", ns, "--for=condition=complete", "job/manual", "--timeout=90s")

	// The scheduled start: a Job named tick-<minutes since the epoch>, owned by the CronJob.
	eventually(t, 150*time.Second, func() error {
		out := s.ok(t, "get", "jobs", "-n", ns, "-o", `jsonpath={range .items[?(@.metadata.ownerReferences[0].kind=="CronJob")]}{.metadata.name} {.status.succeeded}{"\n"}{end}`)
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) == 2 && strings.HasPrefix(f[0], "tick-") && f[1] == "1" {
				return nil
			}
		}
		return fmt.Errorf("no completed scheduled job yet:\n%s", out)
	})
	if last := s.ok(t, "get", "cronjob", "tick", "-n", ns, "-o", "jsonpath={.status.lastScheduleTime}"); last == "" {
		t.Errorf("cronjob tick has no lastScheduleTime")
	}
	s.ok(t, "delete", "cronjob", "tick", "-n", ns)
}
