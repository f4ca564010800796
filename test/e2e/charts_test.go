package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/skiff-dev/skiff/nodeagent/images"
	"github.com/skiff-dev/skiff/test/poll"
)

// The chart repositories, as the Go module proxy serves them (no other way in without the
// internet), pinned.
const (
	bitnamiCharts    = "github.com/bitnami/charts@v0.0.0-20260907150927-c0703daaf78e"
	prometheusCharts = "github.com/prometheus-community/helm-charts@v0.0.0-20260828105119-ed5d7d9b5933"
	// nodeExporterPort replaces the chart's 9100 (hostNetwork: the port is the machine's) with a
	// port nothing else on a test machine listens on.
	nodeExporterPort = "39100"
)

// TestHelmCharts installs popular charts, unmodified, with the real helm (helm.sh/helm/v4,
// built from the module proxy in test/charts, a module of its own) and `helm install --wait`
// against `skiff up` with its real node:
//
//   - bitnami/etcd 12.0.20: a database StatefulSet of 3 (Parallel), its headless Service
//     (publishNotReadyAddresses) and client Service, a PodDisruptionBudget (minAvailable 51%),
//     and a pre-upgrade hook Job. The members find each other through per-pod DNS
//     (etcd-0.etcd-headless.NS.svc.cluster.local) and form a real etcd cluster: a key written
//     through one member is read from another. `helm upgrade` runs the hook Job (it checks
//     every member's health through its per-pod name and lists the members) and changes the
//     budget.
//   - prometheus-community/prometheus-node-exporter 4.56.1: a DaemonSet agent with hostNetwork,
//     hostPID and hostPath mounts of /proc, /sys and / (HostToContainer propagation), running as
//     nobody with a read-only root file system; it reports this machine's hostname. `helm
//     upgrade` with one more argument rolls the DaemonSet, and the new pods run with it.
//
// `helm uninstall --wait` then removes every object of both releases (the hook Job stays, as
// helm leaves hooks with the before-hook-creation policy).
//
// No image can be pulled, so each is built here from real software and imported with `skiff
// image import` under the name the chart asks for:
//
//   - quay.io/prometheus/node-exporter:v1.12.1: node_exporter v1.12.1 (the chart's appVersion)
//     built from source, static, as /bin/node_exporter, its entrypoint, as upstream's image.
//   - docker.io/bitnami/etcd:3.7.3-skiff: the real etcd server v3.7.3 (go.etcd.io/etcd/server/v3,
//     the version Skiff embeds) as /opt/bitnami/etcd/bin/etcd, on Skiff's busybox, with
//     stand-ins for the Bitnami scripts the chart names (entrypoint.sh, run.sh, healthcheck.sh,
//     preupgrade.sh; see etcdScripts). etcd reads the ETCD_* variables the chart sets itself.
//
// Overridden chart values, and why:
//
//   - etcd image.tag=3.7.3-skiff and global.security.allowInsecureImages=true: the image is a
//     stand-in, so it gets its own tag, and Bitnami's charts refuse other images without that flag.
//   - etcd auth.rbac.create=false: Bitnami's run.sh (not the stand-in) sets the root password.
//     The JWT token auth stays on: etcd, as uid 1001, reads the chart's key from a Secret of
//     defaultMode 0400, which works through the pod's fsGroup.
//   - etcd networkPolicy.enabled=false: Skiff does not serve NetworkPolicies.
//   - etcd replicaCount=3: a cluster rather than the default single member.
//   - etcd auth.token.privateKey.existingSecret: the JWT key made here. The chart would make
//     one, but its pod template's checksum of it is of another random key at install (the
//     chart's lookup finds no Secret yet), so the first `helm upgrade` rolls the StatefulSet,
//     and a member that restarts on an empty data dir must leave and rejoin the cluster,
//     which Bitnami's run.sh does and the stand-in does not.
//   - node-exporter service.port/targetPort=39100: see nodeExporterPort.
//
// Not part of `make test`: building helm, etcd and node_exporter takes minutes (about 18 on a
// busy 2-core machine with Skiff's own dependencies in the build cache); `make e2e-charts` sets
// SKIFF_E2E_CHARTS=1 and runs it.
func TestHelmCharts(t *testing.T) {
	if os.Getenv("SKIFF_E2E_CHARTS") == "" {
		t.Skip("builds helm, etcd and node_exporter: run with SKIFF_E2E_CHARTS=1 (make e2e-charts)")
	}
	bin := buildChartTools(t)
	dir := t.TempDir()
	const node = "charts-node"
	s := startNodeT(t, dir, node, "10.244.240.0/24")
	importChartImages(t, dir, bin)
	ns := s.namespace(t)
	// The pods go before the cluster stops (containers outlive containerd): deleting the
	// namespace waits for them.
	t.Cleanup(func() { s.kubectl(t, "delete", "namespace", ns, "--timeout=120s") })
	h := helmRunner{t: t, s: s, bin: filepath.Join(bin, "helm"), home: t.TempDir(), ns: ns}

	// etcd: a StatefulSet of 3 members that find each other by their per-pod DNS names.
	etcdChart := chartCopy(t, bitnamiCharts, "bitnami/etcd", "bitnami/common")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "jwt-token.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	s.ok(t, "create", "secret", "generic", "etcd-jwt", "-n", ns, "--from-file", keyFile)
	etcdValues := []string{"--set", "replicaCount=3", "--set", "persistence.size=1Gi",
		"--set", "image.tag=3.7.3-skiff", "--set", "global.security.allowInsecureImages=true",
		"--set", "auth.rbac.create=false", "--set", "networkPolicy.enabled=false",
		"--set", "auth.token.privateKey.existingSecret=etcd-jwt"}
	h.run(append([]string{"install", "etcd", etcdChart, "--wait", "--wait-for-jobs", "--timeout", "5m"}, etcdValues...)...)
	ready := s.ok(t, "get", "sts", "etcd", "-n", ns, "-o", "jsonpath={.status.replicas}/{.status.readyReplicas}/{.status.availableReplicas}")
	if ready != "3/3/3" {
		t.Errorf("etcd StatefulSet replicas/ready/available %q, want 3/3/3", ready)
	}
	// The chart's persistence: each member's claim bound by the default class local-path.
	if got := s.ok(t, "get", "pvc", "data-etcd-0", "data-etcd-1", "data-etcd-2", "-n", ns, "-o", "jsonpath={.items[*].status.phase} {.items[*].spec.storageClassName}"); got != "Bound Bound Bound local-path local-path local-path" {
		t.Errorf("etcd claims phase/class %q", got)
	}
	// minAvailable 51% of 3 is 2: one disruption allowed.
	poll.Until(t, 30*time.Second, "etcd budget", func() error {
		got := s.ok(t, "get", "pdb", "etcd", "-n", ns, "-o", "jsonpath={.status.currentHealthy}/{.status.desiredHealthy}/{.status.expectedPods}/{.status.disruptionsAllowed}")
		if got != "3/2/3/1" {
			return fmt.Errorf("etcd PDB healthy/desired/expected/allowed %q, want 3/2/3/1", got)
		}
		return nil
	})
	headless := fmt.Sprintf("etcd-headless.%s.svc.cluster.local", ns)
	for i := range 3 {
		r := s.kubectl(t, "exec", "-n", ns, "etcd-0", "--", "nslookup", fmt.Sprintf("etcd-%d.%s", i, headless))
		ip := s.ok(t, "get", "pod", "-n", ns, fmt.Sprintf("etcd-%d", i), "-o", "jsonpath={.status.podIP}")
		if r.err != nil || !strings.Contains(r.stdout, ip) {
			t.Errorf("nslookup etcd-%d.%s in etcd-0: %v, want the pod's IP %s\nslices:\n%s\npods:\n%s", i, headless, r, ip,
				s.ok(t, "get", "endpointslices", "-n", ns, "-o", "yaml"), s.ok(t, "get", "pods", "-n", ns, "-o", "wide"))
		}
	}
	// A real replicated database: a key put through etcd-0 (by its per-pod name, from etcd-2)
	// is read back from etcd-1's own endpoint (etcd's JSON gateway; keys and values in base64).
	put := fmt.Sprintf("http://etcd-0.%s:2379/v3/kv/put", headless)
	s.ok(t, "exec", "-n", ns, "etcd-2", "--", "wget", "-qO-", "-T", "5", "--post-data", `{"key":"c2tpZmY=","value":"aGVsbQ=="}`, put)
	if out := s.ok(t, "exec", "-n", ns, "etcd-1", "--", "wget", "-qO-", "-T", "5", "--post-data", `{"key":"c2tpZmY="}`, "http://127.0.0.1:2379/v3/kv/range"); !strings.Contains(out, `"value":"aGVsbQ=="`) {
		t.Errorf("range of the key on etcd-1: %s", out)
	}

	// node-exporter: the DaemonSet agent, on the host's network, PID namespace and file system.
	neChart := chartCopy(t, prometheusCharts, "charts/prometheus-node-exporter")
	neValues := []string{"--set", "service.port=" + nodeExporterPort, "--set", "service.targetPort=" + nodeExporterPort}
	if !rootSharedOrSlave(t) {
		// The chart mounts / with HostToContainer propagation (rslave), which containerd, as any
		// runtime, refuses when the host's / is a private mount (some containers and VMs; systemd
		// makes it shared): the chart's own value turns the propagation off there.
		t.Log("/ is a private mount on this machine: node-exporter's root mount without HostToContainer propagation")
		neValues = append(neValues, "--set", "hostRootFsMount.mountPropagation=None")
	}
	h.run(append([]string{"install", "ne", neChart, "--wait", "--timeout", "3m"}, neValues...)...)
	ds := s.ok(t, "get", "ds", "ne-prometheus-node-exporter", "-n", ns, "-o", "jsonpath={.status.desiredNumberScheduled}/{.status.numberReady}/{.status.updatedNumberScheduled}")
	if ds != "1/1/1" {
		t.Errorf("node-exporter DaemonSet desired/ready/updated %q, want 1/1/1", ds)
	}
	hostname, _ := os.Hostname()
	metrics := nodeExporterMetrics(t)
	for _, want := range []string{`nodename="` + hostname + `"`, "node_cpu_seconds_total", `node_filesystem_size_bytes{device=`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("node_exporter's metrics lack %s", want)
		}
	}

	// helm upgrade: etcd runs its pre-upgrade hook Job (it must complete before the upgrade goes
	// on) and gets a stricter budget; node-exporter gets one more argument and rolls.
	h.run(append([]string{"upgrade", "etcd", etcdChart, "--wait", "--wait-for-jobs", "--timeout", "5m", "--set", "pdb.minAvailable=3"}, etcdValues...)...)
	if got := s.ok(t, "get", "job", "etcd-pre-upgrade", "-n", ns, "-o", `jsonpath={.status.succeeded}/{.status.conditions[?(@.type=="Complete")].status}`); got != "1/True" {
		t.Errorf("pre-upgrade hook Job succeeded/Complete %q, want 1/True", got)
	}
	hookLog := s.ok(t, "logs", "-n", ns, "job/etcd-pre-upgrade")
	for i := range 3 {
		if want := fmt.Sprintf(`etcd-%d: {"health":"true"`, i); !strings.Contains(hookLog, want) {
			t.Errorf("hook log lacks %s:\n%s", want, hookLog)
		}
		if want := fmt.Sprintf(`"name":"etcd-%d"`, i); !strings.Contains(hookLog, want) {
			t.Errorf("hook's member list lacks %s:\n%s", want, hookLog)
		}
	}
	poll.Until(t, 30*time.Second, "etcd budget after the upgrade", func() error {
		got := s.ok(t, "get", "pdb", "etcd", "-n", ns, "-o", "jsonpath={.spec.minAvailable}/{.status.disruptionsAllowed}")
		if got != "3/0" {
			return fmt.Errorf("etcd PDB minAvailable/allowed %q, want 3/0", got)
		}
		return nil
	})
	oldPod := s.ok(t, "get", "pods", "-n", ns, "-l", "app.kubernetes.io/instance=ne", "-o", "jsonpath={.items[*].metadata.name}")
	h.run(append([]string{"upgrade", "ne", neChart, "--wait", "--timeout", "3m", "--set", "extraArgs={--no-collector.cpu}"}, neValues...)...)
	newPod := s.ok(t, "get", "pods", "-n", ns, "-l", "app.kubernetes.io/instance=ne", "-o", "jsonpath={.items[*].metadata.name}")
	if newPod == oldPod || strings.Contains(newPod, " ") {
		t.Errorf("node-exporter pods after the upgrade %q, before %q: want one new pod", newPod, oldPod)
	}
	if got := s.ok(t, "get", "ds", "ne-prometheus-node-exporter", "-n", ns, "-o", "jsonpath={.metadata.generation}/{.status.observedGeneration}/{.status.updatedNumberScheduled}/{.status.numberReady}"); got != "2/2/1/1" {
		t.Errorf("node-exporter DaemonSet generation/observed/updated/ready %q, want 2/2/1/1", got)
	}
	if m := nodeExporterMetrics(t); strings.Contains(m, "node_cpu_seconds_total") || !strings.Contains(m, "node_uname_info") {
		t.Errorf("node_exporter after the upgrade with --no-collector.cpu still reports CPU seconds (or nothing)")
	}
	if out := h.run("list", "-o", "json"); !strings.Contains(out, `"name":"etcd"`) || !strings.Contains(out, `"revision":"2"`) || !strings.Contains(out, `"status":"deployed"`) {
		t.Errorf("helm list: %s", out)
	}

	// helm uninstall removes both releases' objects; the hook Job stays (helm keeps hooks).
	h.run("uninstall", "etcd", "ne", "--wait", "--timeout", "3m")
	poll.Until(t, 60*time.Second, "nothing left of the releases", func() error {
		// Everything the charts made carries managed-by=Helm; helm's release records owner=helm.
		out := s.ok(t, "get", "all,pdb,cm,secret,sa,controllerrevisions", "-n", ns, "-l", "app.kubernetes.io/managed-by=Helm", "-o", "name")
		out += s.ok(t, "get", "secret", "-n", ns, "-l", "owner=helm", "-o", "name")
		var left []string
		for _, o := range strings.Fields(out) {
			if !strings.Contains(o, "/etcd-pre-upgrade") { // the hook Job and its pod
				left = append(left, o)
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("left after helm uninstall: %q", left)
		}
		return nil
	})
}

// rootSharedOrSlave reports whether / is a shared or slave mount (/proc/self/mountinfo's
// optional fields), as mount propagation from the host needs.
func rootSharedOrSlave(t *testing.T) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
		f := strings.Fields(line)
		if len(f) < 7 || f[4] != "/" {
			continue
		}
		for _, opt := range f[6:] {
			if opt == "-" {
				break
			}
			if strings.HasPrefix(opt, "shared:") || strings.HasPrefix(opt, "master:") {
				return true
			}
		}
		return false
	}
	return false
}

// helmRunner runs helm against one cluster and namespace, with its own home directories.
type helmRunner struct {
	t         *testing.T
	s         *skiff
	bin, home string
	ns        string
}

func (h helmRunner) run(args ...string) string {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, append([]string{"--kubeconfig", h.s.kubeconfig, "--namespace", h.ns}, args...)...)
	cmd.Env = append(kubectlEnv(), "HELM_CACHE_HOME="+filepath.Join(h.home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(h.home, "config"), "HELM_DATA_HOME="+filepath.Join(h.home, "data"))
	start := time.Now()
	out, err := cmd.CombinedOutput()
	h.t.Logf("helm %s: %v", strings.Join(args[:min(2, len(args))], " "), time.Since(start).Round(100*time.Millisecond))
	if err != nil {
		// What the pods were doing, for the failure's story.
		pods := h.s.kubectl(h.t, "describe", "pods", "-n", h.ns)
		h.t.Fatalf("helm %s: %v\n%s\n%s", strings.Join(args, " "), err, out, pods.stdout)
	}
	return string(out)
}

// buildChartTools builds helm, etcd and node_exporter (test/charts's tools) into a directory.
func buildChartTools(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", bin+"/", "helm.sh/helm/v4/cmd/helm",
		"github.com/prometheus/node_exporter", "go.etcd.io/etcd/server/v3")
	cmd.Dir = filepath.Join(moduleRoot(), "test", "charts")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building helm, node_exporter and etcd in test/charts: %v\n%s", err, out)
	}
	// go.etcd.io/etcd/server/v3 is etcd's main package: go build names its binary "server".
	if err := os.Rename(filepath.Join(bin, "server"), filepath.Join(bin, "etcd")); err != nil {
		t.Fatal(err)
	}
	t.Logf("built helm, node_exporter and etcd in %v", time.Since(start).Round(time.Second))
	return bin
}

// chartCopy copies a chart out of a chart repository served as a Go module into a temporary
// directory, with the library charts it depends on (each in its charts/ directory, as `helm
// dependency build` would put them; Bitnami's come from an OCI registry, out of reach here).
func chartCopy(t *testing.T, module, chart string, libs ...string) string {
	t.Helper()
	dir := moduleDir(t, "", module)
	dst := filepath.Join(t.TempDir(), filepath.Base(chart))
	copyTree(t, filepath.Join(dir, chart), dst)
	for _, lib := range libs {
		copyTree(t, filepath.Join(dir, lib), filepath.Join(dst, "charts", filepath.Base(lib)))
	}
	return dst
}

// moduleDir downloads module (module@version, or the version the go.mod in modDir requires) into
// the module cache and returns its directory there (read-only).
func moduleDir(t *testing.T, modDir, module string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = modDir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", module, err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("go mod download %s: %q %v", module, out, err)
	}
	return m.Dir
}

// copyTree copies regular files and directories (the module cache's are read-only).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// etcdScripts stand in for the Bitnami scripts of the etcd chart's image (bash, with Bitnami's
// libraries), which the chart names in its pod templates; busybox sh runs them.
var etcdScripts = map[string]string{
	// The image's entrypoint: runs its arguments.
	"entrypoint.sh": `#!/bin/sh
exec "$@"
`,
	// The image's command. etcd configures itself from the ETCD_* variables the chart sets; as
	// Bitnami's, it first waits until the member's own per-pod DNS name resolves (etcd checks its
	// advertised peer URL against the initial cluster by resolving it).
	"run.sh": `#!/bin/sh
self="$MY_POD_NAME.$ETCD_CLUSTER_DOMAIN"
until /bin/nslookup "$self" >/dev/null 2>&1; do echo "waiting for $self to resolve"; sleep 1; done
exec /opt/bitnami/etcd/bin/etcd
`,
	// The readiness probe: the member's /health, true once it has a leader.
	"healthcheck.sh": `#!/bin/sh
exec /bin/wget -q -T 5 -O /dev/null http://127.0.0.1:2379/health
`,
	// The pre-upgrade hook. Bitnami's reconciles the members with a changed replica count; this
	// one checks each member of ETCD_INITIAL_CLUSTER (client URLs by per-pod name) and lists the
	// members through the first.
	"preupgrade.sh": `#!/bin/sh
set -e
for m in $(echo "$ETCD_INITIAL_CLUSTER" | tr ',' ' '); do
  echo "${m%%=*}: $(/bin/wget -q -T 5 -O - "${m#*=}/health")"
done
first=$(echo "$ETCD_INITIAL_CLUSTER" | cut -d, -f1)
/bin/wget -q -T 5 -O - --post-data '{}' "${first#*=}/v3/cluster/member/list"
echo
`,
}

// importChartImages builds the charts' images (see TestHelmCharts) and imports them into the
// node's registry with `skiff image import`.
func importChartImages(t *testing.T, dataDir, bin string) {
	t.Helper()
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	layer := func(files []images.File) v1.Layer {
		l, err := images.LayerFromFiles(files)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	ne, err := images.NewImage(images.ImageConfig{Entrypoint: []string{"/bin/node_exporter"}, User: "nobody"},
		layer([]images.File{{Path: "bin/node_exporter", Mode: 0o755, Contents: read(filepath.Join(bin, "node_exporter"))}}))
	if err != nil {
		t.Fatal(err)
	}

	nettool, err := images.GoBinary(context.Background(), filepath.Join(moduleRoot(), "test", "images", "nettool"))
	if err != nil {
		t.Fatal(err)
	}
	busybox, err := images.BusyboxImage(context.Background(), "/bin/busybox", nettool)
	if err != nil {
		t.Fatal(err)
	}
	etcdFiles := []images.File{{Path: "opt/bitnami/etcd/bin/etcd", Mode: 0o755, Contents: read(filepath.Join(bin, "etcd"))}}
	for n, script := range etcdScripts {
		etcdFiles = append(etcdFiles, images.File{Path: "opt/bitnami/scripts/etcd/" + n, Mode: 0o755, Contents: []byte(script)})
	}
	etcd, err := mutate.AppendLayers(busybox, layer(etcdFiles))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := etcd.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.Entrypoint = []string{"/opt/bitnami/scripts/etcd/entrypoint.sh"}
	cf.Config.Cmd = []string{"/opt/bitnami/scripts/etcd/run.sh"}
	cf.Config.User = "1001"
	if etcd, err = mutate.ConfigFile(etcd, cf); err != nil {
		t.Fatal(err)
	}

	refs := map[name.Reference]v1.Image{}
	for n, img := range map[string]v1.Image{"quay.io/prometheus/node-exporter:v1.12.1": ne, "docker.io/bitnami/etcd:3.7.3-skiff": etcd} {
		tag, err := name.NewTag(n)
		if err != nil {
			t.Fatal(err)
		}
		refs[tag] = img
	}
	archive := filepath.Join(t.TempDir(), "charts.tar")
	if err := tarball.MultiRefWriteToFile(archive, refs); err != nil {
		t.Fatal(err)
	}
	runSkiff(t, "image", "import", "--data-dir", dataDir, archive)
}

// nodeExporterMetrics is node_exporter's /metrics on this machine (it listens on the host's
// network).
func nodeExporterMetrics(t *testing.T) string {
	t.Helper()
	var body string
	poll.Until(t, 30*time.Second, "node_exporter metrics", func() error {
		resp, err := http.Get("http://127.0.0.1:" + nodeExporterPort + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /metrics: %s %v", resp.Status, err)
		}
		body = string(b)
		return nil
	})
	return body
}
