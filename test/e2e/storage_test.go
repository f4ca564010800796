package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// testStorage runs claims on a real node with kubectl: the default class local-path provisions
// a directory on the node the pod was scheduled to, the data outlives the pod, a StatefulSet
// keeps each ordinal's data across a rollout, a claim in use survives `kubectl delete pvc` until
// its pod goes and then its directory goes with it (reclaim Delete), a claim of an unknown class
// stays Pending with upstream's event, a generic ephemeral volume's claim lives and dies with
// its pod, a bound claim grows, and bad claims get 422 with field paths.
func testStorage(t *testing.T, s *skiff, ns, image string) {
	t.Cleanup(func() {
		s.kubectl(t, "delete", "statefulset", "db", "-n", ns, "--timeout=60s")
		s.kubectl(t, "delete", "pods", "-l", "storage-test", "-n", ns, "--timeout=60s")
		s.kubectl(t, "delete", "pvc", "--all", "-n", ns, "--timeout=60s")
	})
	pod := func(name, claim, cmd string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, labels: {storage-test: "true"}}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  containers:
  - name: main
    image: %s
    command: [sh, -c, %q]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: %s}
`, name, image, cmd, claim)
	}
	claim := func(name, extra string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: %s}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
%s`, name, extra)
	}
	jsonpath := func(args ...string) string {
		return strings.TrimSpace(s.ok(t, append([]string{"get", "-n", ns}, args...)...))
	}

	var volumeDir string
	t.Run("data outlives the pod", func(t *testing.T) {
		s.okIn(t, claim("data", "")+"---\n"+pod("writer", "data", "echo kept > /data/file"), "apply", "-n", ns, "-f", "-")
		s.ok(t, "wait", "-n", ns, "--for=jsonpath={.status.phase}=Succeeded", "pod/writer", "--timeout=90s")
		if got := jsonpath("pvc", "data", "-o", "jsonpath={.status.phase} {.spec.storageClassName}"); got != "Bound local-path" {
			t.Fatalf("claim: %q, want Bound local-path", got)
		}
		pv := jsonpath("pvc", "data", "-o", "jsonpath={.spec.volumeName}")
		volumeDir = s.ok(t, "get", "pv", pv, "-o", "jsonpath={.spec.local.path}")
		if _, err := os.Stat(volumeDir + "/file"); err != nil {
			t.Errorf("the volume's directory on the node: %v", err)
		}
		out := s.ok(t, "get", "pvc", "data", "-n", ns)
		for _, col := range []string{"STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "Bound", "1Gi", "RWO", "local-path"} {
			if !strings.Contains(out, col) {
				t.Errorf("kubectl get pvc lacks %q:\n%s", col, out)
			}
		}
		s.ok(t, "delete", "pod", "writer", "-n", ns)
		s.okIn(t, pod("reader", "data", "cat /data/file; sleep 3600"), "apply", "-n", ns, "-f", "-")
		s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/reader", "--timeout=90s")
		eventually(t, 30*time.Second, func() error {
			if out := s.kubectl(t, "logs", "reader", "-n", ns); !strings.Contains(out.stdout, "kept") {
				return fmt.Errorf("reader logs %q %s", out.stdout, out.stderr)
			}
			return nil
		})
	})

	t.Run("a claim in use is kept until its pod goes", func(t *testing.T) {
		if volumeDir == "" {
			t.Skip("no claim from the first step")
		}
		s.ok(t, "delete", "pvc", "data", "-n", ns, "--wait=false")
		if got := jsonpath("pvc", "data", "-o", "jsonpath={.metadata.deletionTimestamp}"); got == "" {
			t.Fatal("the claim has no deletionTimestamp")
		}
		if out := s.ok(t, "get", "pvc", "data", "-n", ns); !strings.Contains(out, "Terminating") {
			t.Errorf("kubectl get pvc during deletion:\n%s", out)
		}
		s.ok(t, "delete", "pod", "reader", "-n", ns, "--timeout=60s")
		eventually(t, 60*time.Second, func() error {
			if out := s.kubectl(t, "get", "pvc", "data", "-n", ns); out.err == nil {
				return fmt.Errorf("claim still there: %s", out.stdout)
			}
			if _, err := os.Stat(volumeDir); !os.IsNotExist(err) {
				return fmt.Errorf("volume directory %s still there (%v)", volumeDir, err)
			}
			return nil
		})
	})

	t.Run("unknown class stays pending", func(t *testing.T) {
		s.okIn(t, claim("gold", "  storageClassName: nope\n"), "apply", "-n", ns, "-f", "-")
		eventually(t, 30*time.Second, func() error {
			out := s.kubectl(t, "describe", "pvc", "gold", "-n", ns)
			if !strings.Contains(out.stdout, "ProvisioningFailed") || !strings.Contains(out.stdout, `storageclass.storage.k8s.io "nope" not found`) {
				return fmt.Errorf("describe pvc gold:\n%s", out.stdout)
			}
			return nil
		})
		if got := jsonpath("pvc", "gold", "-o", "jsonpath={.status.phase}"); got != "Pending" {
			t.Errorf("phase %q, want Pending", got)
		}
	})

	t.Run("bad claims", func(t *testing.T) {
		for _, tc := range []struct{ yaml, want string }{
			{strings.Replace(claim("bad-size", ""), "storage: 1Gi", "storage: -1Gi", 1), `spec.resources[storage]: Invalid value: "-1Gi": must be greater than zero`},
			{strings.Replace(claim("bad-mode", ""), "[ReadWriteOnce]", "[ReadWriteSometimes]", 1), `spec.accessModes: Unsupported value: "ReadWriteSometimes"`},
			{claim("bad-class", "  storageClassName: Not_A_Name\n"), "spec.storageClassName: Invalid value"},
		} {
			if out := s.fails(t, tc.yaml, "apply", "-n", ns, "-f", "-"); !strings.Contains(out, tc.want) || !strings.Contains(out, "is invalid") {
				t.Errorf("%s: %s", tc.want, out)
			}
		}
	})

	t.Run("ephemeral volume", func(t *testing.T) {
		s.okIn(t, `apiVersion: v1
kind: Pod
metadata: {name: scratch, labels: {storage-test: "true"}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: `+image+`
    command: [sh, -c, "echo hi > /scratch/f && sleep 3600"]
    volumeMounts: [{name: work, mountPath: /scratch}]
  volumes:
  - name: work
    ephemeral:
      volumeClaimTemplate:
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 100Mi}}
`, "apply", "-n", ns, "-f", "-")
		s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/scratch", "--timeout=90s")
		if got := jsonpath("pvc", "scratch-work", "-o", "jsonpath={.status.phase} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}"); got != "Bound Pod/scratch" {
			t.Errorf("ephemeral claim: %q", got)
		}
		s.ok(t, "delete", "pod", "scratch", "-n", ns, "--timeout=60s")
		eventually(t, 60*time.Second, func() error {
			if out := s.kubectl(t, "get", "pvc", "scratch-work", "-n", ns); out.err == nil {
				return fmt.Errorf("ephemeral claim still there: %s", out.stdout)
			}
			return nil
		})
	})

	t.Run("statefulset keeps each ordinal's data", func(t *testing.T) {
		sts := func(generation string) string {
			return `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}, annotations: {generation: "` + generation + `"}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: ` + image + `
        command: [sh, -c, "[ -f /data/id ] || echo $HOSTNAME-$RANDOM > /data/id; touch /tmp/ready; exec sleep 3600"]
        readinessProbe: {exec: {command: [cat, /tmp/ready]}, periodSeconds: 1}
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`
		}
		s.okIn(t, sts("1"), "apply", "-n", ns, "-f", "-")
		s.ok(t, "rollout", "status", "statefulset/db", "-n", ns, "--timeout=120s")
		ids := map[string]string{}
		for _, p := range []string{"db-0", "db-1"} {
			ids[p] = strings.TrimSpace(s.ok(t, "exec", "-n", ns, p, "--", "cat", "/data/id"))
			if !strings.HasPrefix(ids[p], p+"-") {
				t.Errorf("%s wrote %q", p, ids[p])
			}
		}
		s.okIn(t, sts("2"), "apply", "-n", ns, "-f", "-")
		s.ok(t, "rollout", "status", "statefulset/db", "-n", ns, "--timeout=120s")
		for _, p := range []string{"db-0", "db-1"} {
			if got := strings.TrimSpace(s.ok(t, "exec", "-n", ns, p, "--", "cat", "/data/id")); got != ids[p] {
				t.Errorf("%s after the rollout reads %q, want %q", p, got, ids[p])
			}
		}
		if got := jsonpath("pvc", "data-db-0", "data-db-1", "-o", "jsonpath={.items[*].status.phase}"); got != "Bound Bound" {
			t.Errorf("claims: %q", got)
		}
	})

	t.Run("a bound claim grows", func(t *testing.T) {
		s.ok(t, "patch", "pvc", "data-db-0", "-n", ns, "-p", `{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}`)
		eventually(t, 30*time.Second, func() error {
			if got := jsonpath("pvc", "data-db-0", "-o", "jsonpath={.status.capacity.storage}"); got != "2Gi" {
				return fmt.Errorf("capacity %q, want 2Gi", got)
			}
			return nil
		})
		if out := s.fails(t, "", "patch", "pvc", "data-db-0", "-n", ns, "-p", `{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}`); !strings.Contains(out, "can not be less than status.capacity") {
			t.Errorf("shrinking: %s", out)
		}
	})
}
