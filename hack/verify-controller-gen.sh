#!/usr/bin/env bash
# Checks that controller-gen's output (deepcopy in apis/<group>/<version>/zz_generated.deepcopy.go,
# CRDs in config/crd/bases) is current, without writing into the tree.
# CONTROLLER_GEN is the command (the Makefile's variable).
set -euo pipefail
cd "$(dirname "$0")/.."
CONTROLLER_GEN=${CONTROLLER_GEN:-go run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stale=0
$CONTROLLER_GEN crd output:crd:artifacts:config="$tmp/crd" paths=./apis/... >/dev/null
if ! diff -r -q "$tmp/crd" config/crd/bases >/dev/null 2>&1; then
  echo "config/crd/bases is stale: run 'make generate'"; stale=1
fi
for d in $(grep -rl --include='*.go' '+kubebuilder:object:generate=true' apis | xargs -r -n1 dirname | sort -u); do
  $CONTROLLER_GEN object:headerFile=hack/boilerplate.go.txt output:object:stdout paths="./$d" >"$tmp/deepcopy.go"
  if ! diff -q "$tmp/deepcopy.go" "$d/zz_generated.deepcopy.go" >/dev/null 2>&1; then
    echo "$d/zz_generated.deepcopy.go is stale: run 'make generate'"; stale=1
  fi
done
exit $stale
