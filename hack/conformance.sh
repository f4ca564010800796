#!/usr/bin/env bash
# Run upstream Kubernetes' conformance specs (e2e.test of the version whose libraries Skiff uses)
# against a fresh `skiff up` with its real node: `make conformance FOCUS=... SKIP=...`.
#
#   1. builds bin/e2e.test from test/conformance (its own module; the first build takes 20-40
#      minutes on 2 cores, later ones reuse it while it is newer than test/conformance/go.mod),
#   2. builds the test images the specs run (agnhost from upstream's source, busybox, nginx
#      stand-ins, pause, and the Aggregator spec's sample-apiserver and etcd from the module
#      test/conformance/images) into one `docker save` archive under the names e2e.test asks for,
#   3. starts `skiff up` on a temporary data dir (node conf-node, pod CIDR 10.244.190.0/24, every
#      port free), waits for the node to be Ready, imports the images with `skiff image import`,
#   4. runs e2e.test with FOCUS and SKIP, prints "N passed, M failed" from its JUnit report,
#   5. deletes the test namespaces and every pod, stops skiff, removes the node's proxy rules and
#      routes, and exits non-zero when a spec failed.
#
# Environment: FOCUS, SKIP (ginkgo regexps), NODE and POD_CIDR (to run two at once), NODES=2 (joins
# a second node, NODE-2, with `skiff agent`; specs such as the DaemonSet rollback need two), E2E_TEST (a prebuilt e2e.test instead of bin/e2e.test), REPORT_DIR (default bin/conformance/report-<time>),
# KUBECTL (default kubectl.1.37 from the Google Cloud SDK, else /usr/bin/kubectl), KEEP=1 keeps
# the data dir, E2E_ARGS (more e2e.test flags), TIMEOUT (ginkgo timeout, default 2h).
# Needs root, containerd (hack/install-runtime.sh) and the Go toolchain.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
GO=${GO:-go}
FOCUS=${FOCUS:-'\[sig-apps\] ReplicaSet .*\[Conformance\]'}
SKIP=${SKIP:-'\[Serial\]|\[Disruptive\]|\[Slow\]'}
TIMEOUT=${TIMEOUT:-2h}
NODE=${NODE:-conf-node}
POD_CIDR=${POD_CIDR:-10.244.190.0/24}
BIN=$ROOT/bin
OUT=$BIN/conformance
REPORT_DIR=${REPORT_DIR:-$OUT/report-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT" "$REPORT_DIR"

log() { echo "conformance: $*" >&2; }

# newer A B: A exists and is newer than B.
newer() { [ -e "$1" ] && [ "$1" -nt "$2" ]; }

# --- 1. e2e.test, agnhost and the other binaries (nice: the machine is shared).
E2E_TEST=${E2E_TEST:-$BIN/e2e.test}
if [ "$E2E_TEST" != "$BIN/e2e.test" ]; then
  log "using $E2E_TEST"
elif newer "$BIN/e2e.test" test/conformance/go.mod; then
  log "reusing bin/e2e.test"
else
  log "building bin/e2e.test (the first build takes 20-40 minutes)"
  (cd test/conformance && nice -n 19 "$GO" test -c -vet=off -o "$BIN/e2e.test" k8s.io/kubernetes/test/e2e)
fi
if ! newer "$OUT/agnhost" test/conformance/go.mod; then
  log "building agnhost"
  (cd test/conformance && CGO_ENABLED=0 nice -n 19 "$GO" build -trimpath -ldflags=-s -o "$OUT/agnhost" k8s.io/kubernetes/test/images/agnhost)
fi
# The Aggregator spec's sample-apiserver and etcd: their own module (test/conformance/images), so
# that its dependencies never make e2e.test and agnhost look stale; rebuilt when older than its
# go.mod or (etcd) its main.
IMGMOD=test/conformance/images
if ! newer "$OUT/sample-apiserver" "$IMGMOD/go.mod"; then
  log "building sample-apiserver"
  (cd "$IMGMOD" && CGO_ENABLED=0 nice -n 19 "$GO" build -trimpath -ldflags=-s -o "$OUT/sample-apiserver" k8s.io/sample-apiserver)
fi
if ! newer "$OUT/etcd" "$IMGMOD/go.mod" || ! newer "$OUT/etcd" "$IMGMOD/etcd/main.go"; then
  log "building etcd"
  (cd "$IMGMOD" && CGO_ENABLED=0 nice -n 19 "$GO" build -trimpath -ldflags=-s -o "$OUT/etcd" ./etcd)
fi
for t in pause nettool; do
  CGO_ENABLED=0 nice -n 19 "$GO" build -trimpath -ldflags=-s -o "$OUT/$t" "./test/images/$t"
done
nice -n 19 "$GO" build -o "$BIN/skiff" ./cmd/skiff

# --- 2. The images, one archive.
IMAGES=$OUT/images.tar
log "writing the test images to $IMAGES"
(cd test/conformance && nice -n 19 "$GO" run ./cmd/e2eimages -o "$IMAGES" -agnhost "$OUT/agnhost" \
  -nettool "$OUT/nettool" -pause "$OUT/pause" -sample-apiserver "$OUT/sample-apiserver" -etcd "$OUT/etcd" \
  -porter "$("$GO" list -m -f '{{.Dir}}' k8s.io/kubernetes)/test/images/agnhost/porter") >"$OUT/images.txt"

# --- 3. skiff up.
if [ -z "${KUBECTL:-}" ]; then
  KUBECTL=/usr/bin/kubectl
  if sdk=$(command -v gcloud 2>/dev/null); then
    sdkbin=$(dirname "$(readlink -f "$sdk")")
    [ -x "$sdkbin/kubectl.1.37" ] && KUBECTL=$sdkbin/kubectl.1.37
  fi
fi
DATA=$(mktemp -d /tmp/skiff-conformance.XXXXXX)
SKIFF_LOG=$DATA/skiff-up.log
SKIFF_PID=
KC=
AGENT_PID=
AGENT_DIR=

# kctl is kubectl for this script, with its own discovery cache: e2e.test's kubectl (the default
# cache) must not find one from before the specs' CRDs exist, as a kubectl whose cache misses a
# short name never looks again (kubernetes/kubernetes#65517; "kubectl explain works for CR with
# the same resource name as built-in object" runs `kubectl explain <new short name>` first).
kctl() { "$KUBECTL" --kubeconfig "$KC" --cache-dir "$DATA/kubectl-cache" "$@"; }

cleanup() {
  local rc=$?
  set +e
  if [ -n "$KC" ] && [ -n "$SKIFF_PID" ] && kill -0 "$SKIFF_PID" 2>/dev/null; then
    log "deleting the test namespaces and every pod"
    kctl delete namespaces -l e2e-framework --wait=true --timeout=120s >/dev/null 2>&1
    kctl delete pods --all --all-namespaces --wait=true --timeout=120s >/dev/null 2>&1
    # The containers outlive containerd, as with a kubelet: wait until the agent removed them all.
    for _ in $(seq 60); do
      n=$(kctl get pods -A --no-headers 2>/dev/null | grep -vc "^kube-system " || true)
      [ "$n" -eq 0 ] && break
      sleep 2
    done
    sock=$(find "$DATA" -name containerd.sock 2>/dev/null | head -1)
    if [ -n "$sock" ]; then
      for _ in $(seq 30); do
        n=$(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null | wc -l)
        [ "$n" -eq 0 ] && break
        sleep 2
      done
      [ "$n" -eq 0 ] || log "warning: $n containers still run in $sock"
    fi
  fi
  if [ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
    log "stopping the joined agent (pid $AGENT_PID)"
    kill -TERM "$AGENT_PID"
    for _ in $(seq 60); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 1; done
    kill -0 "$AGENT_PID" 2>/dev/null && kill -KILL "$AGENT_PID"
    wait "$AGENT_PID" 2>/dev/null
  fi
  if [ -n "$SKIFF_PID" ] && kill -0 "$SKIFF_PID" 2>/dev/null; then
    log "stopping skiff (pid $SKIFF_PID)"
    kill -TERM "$SKIFF_PID"
    for _ in $(seq 60); do kill -0 "$SKIFF_PID" 2>/dev/null || break; sleep 1; done
    kill -0 "$SKIFF_PID" 2>/dev/null && kill -KILL "$SKIFF_PID"
    wait "$SKIFF_PID" 2>/dev/null
  fi
  # Shims (and their containers) of this data dir's containerd that outlived it.
  left=$(pgrep -f -- "$DATA/" || true)
  [ -n "$AGENT_DIR" ] && left="$left $(pgrep -f -- "$AGENT_DIR/" || true)"
  left=$(echo $left)
  if [ -n "$left" ]; then
    log "warning: killing processes left behind: $(echo $left)"
    kill -KILL $left 2>/dev/null
  fi
  "$BIN/skiff" agent --cleanup --node-name "$NODE" >/dev/null 2>&1
  [ -n "$AGENT_DIR" ] && "$BIN/skiff" agent --cleanup --node-name "$NODE-2" >/dev/null 2>&1
  if [ -n "${KEEP:-}" ]; then
    log "kept the data dir $DATA"
  else
    cp "$SKIFF_LOG" "$REPORT_DIR/" 2>/dev/null
    cp "$DATA/logs/skiff.log" "$REPORT_DIR/" 2>/dev/null
    [ -n "$AGENT_DIR" ] && cp "$AGENT_DIR/agent.log" "$REPORT_DIR/" 2>/dev/null
    rm -rf "$DATA" $AGENT_DIR 2>/dev/null || log "could not remove all of $DATA $AGENT_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting skiff up on $DATA"
"$BIN/skiff" up --data-dir "$DATA" --agent=true --node-name "$NODE" --pod-cidr "$POD_CIDR" \
  --secure-port 0 --etcd-client-port 0 --etcd-peer-port 0 --cluster-dns-port 0 --node-port 0 \
  --images-src "$ROOT" >"$DATA/stdout" 2>"$SKIFF_LOG" &
SKIFF_PID=$!
ready="Skiff is ready. Kubeconfig: "
for _ in $(seq 180); do
  line=$(grep -m1 "^$ready" "$DATA/stdout" || true)
  [ -n "$line" ] && { KC=${line#"$ready"}; break; }
  kill -0 "$SKIFF_PID" 2>/dev/null || break
  sleep 1
done
if [ -z "$KC" ]; then
  log "skiff up did not get ready; its log:"; tail -30 "$SKIFF_LOG" >&2; exit 1
fi
log "kubeconfig $KC; waiting for node $NODE"
for _ in $(seq 90); do
  kctl get node "$NODE" >/dev/null 2>&1 && break
  sleep 2
done
kctl wait --for=condition=Ready "node/$NODE" --timeout=180s >/dev/null
log "importing the images"
"$BIN/skiff" image import --data-dir "$DATA" "$IMAGES" >/dev/null
if [ "${NODES:-1}" -ge 2 ]; then
  AGENT_DIR=$(mktemp -d /tmp/skiff-conformance-agent.XXXXXX)
  token=$("$BIN/skiff" token create --data-dir "$DATA" | awk '{print $1}')
  server=$(kctl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
  log "joining node $NODE-2 (skiff agent on $AGENT_DIR)"
  "$BIN/skiff" agent --server "$server" --token "$token" --node-name "$NODE-2" --data-dir "$AGENT_DIR" \
    --node-port 0 >"$AGENT_DIR/agent.log" 2>&1 &
  AGENT_PID=$!
  for _ in $(seq 90); do
    kctl get node "$NODE-2" >/dev/null 2>&1 && break
    sleep 2
  done
  kctl wait --for=condition=Ready "node/$NODE-2" --timeout=180s >/dev/null
fi

# --- 4. e2e.test.
log "running e2e.test: focus '$FOCUS', skip '$SKIP' (kubectl $KUBECTL); report in $REPORT_DIR"
set +e
# shellcheck disable=SC2086
"$E2E_TEST" --kubeconfig "$KC" --provider=skeleton --ginkgo.focus="$FOCUS" --ginkgo.skip="$SKIP" \
  --ginkgo.timeout="$TIMEOUT" --ginkgo.no-color --kubectl-path "$KUBECTL" --report-dir "$REPORT_DIR" \
  ${E2E_ARGS:-} >"$REPORT_DIR/e2e.log" 2>&1
e2e_rc=$?
set -e
junit=$(ls "$REPORT_DIR"/junit*.xml 2>/dev/null | head -1)
if [ -z "$junit" ]; then
  log "e2e.test (exit $e2e_rc) wrote no JUnit report; the end of its log:"; tail -40 "$REPORT_DIR/e2e.log" >&2
  exit 1
fi
# Ran specs are <testcase>s without <skipped>; failed ones have <failure> or <error>.
summary=$(python3 - "$junit" <<'EOF'
import sys, xml.etree.ElementTree as ET
passed, failed = 0, []
for tc in ET.parse(sys.argv[1]).iter("testcase"):
    if tc.find("skipped") is not None:
        continue
    name = tc.get("name", "")
    if name.startswith(("[SynchronizedBeforeSuite]", "[SynchronizedAfterSuite]", "[ReportBeforeSuite]", "[ReportAfterSuite]")):
        if tc.find("failure") is None and tc.find("error") is None:
            continue
    if tc.find("failure") is not None or tc.find("error") is not None:
        failed.append(name)
    else:
        passed += 1
print(f"{passed} passed, {len(failed)} failed")
for n in failed:
    print(f"FAILED: {n}")
EOF
)
echo "$summary" | tee "$REPORT_DIR/summary.txt"
case $summary in
  *" 0 failed"*) [ "$e2e_rc" -eq 0 ] || log "e2e.test exited $e2e_rc" ;;
  *) exit 1 ;;
esac
exit "$e2e_rc"
