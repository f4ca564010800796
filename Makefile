# Skiff: a Kubernetes-compatible cluster in one Go binary.
SHELL := /usr/bin/env bash
GO ?= go
BIN := bin/skiff
DATA_DIR ?= $(HOME)/.skiff
BUILD_DATE := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -X github.com/skiff-dev/skiff/apiserver.buildDate=$(BUILD_DATE)
# Packages whose tests need root, containerd or long runs are still plain go test packages.
TEST_TIMEOUT ?= 20m
# The e2e suite starts many real clusters and nodes one after another.
E2E_TIMEOUT ?= 35m
# Test binaries link without DWARF (about a third less link time per package; stack traces keep
# their file:line): linking ~80 test binaries of the API server is most of the unit phase.
TEST_LDFLAGS ?= -ldflags=-w
# controller-gen, pinned: deepcopy and CRDs of the project's own kinds (apis/<group>/<version>).
CONTROLLER_GEN ?= $(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0
CONTROLLER_GEN_ARGS ?= object:headerFile=hack/boilerplate.go.txt crd output:crd:artifacts:config=config/crd/bases paths=./apis/...

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/skiff.
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/skiff

.PHONY: install-runtime
install-runtime: ## Install containerd, runc, CNI plugins and busybox-static from Debian when missing.
	./hack/install-runtime.sh

.PHONY: run
run: build install-runtime ## Build, install the runtime if missing, and run `skiff up` on $(DATA_DIR).
	./$(BIN) up --data-dir $(DATA_DIR)

.PHONY: test
test: verify-generated vet ## Run the tests (unit, integration with the real API server, e2e with kubectl minus the long scenarios of make e2e; fuzz seed corpora as plain tests).
	$(GO) test $(TEST_LDFLAGS) -timeout $(TEST_TIMEOUT) $$($(GO) list ./... | grep -v /test/e2e)
	@# e2e builds bin/skiff in a subprocess, which the test cache cannot see: never cached.
	@# -short leaves the long scenarios (more nodes, failures, minutes each) to make e2e.
	$(GO) test $(TEST_LDFLAGS) -short -count=1 -timeout $(E2E_TIMEOUT) ./test/e2e/
	@# test/operator is its own module (an operator written against controller-runtime on testenv).
	cd test/operator && $(GO) vet ./... && $(GO) test $(TEST_LDFLAGS) -timeout $(TEST_TIMEOUT) ./...

.PHONY: e2e
e2e: ## Run the whole e2e suite, long scenarios included (real nodes, kubectl; needs root and containerd; ~20 minutes).
	$(GO) test $(TEST_LDFLAGS) -count=1 -timeout $(E2E_TIMEOUT) -v ./test/e2e/
	@# The fuzz targets' seed corpora (f.Add and testdata/fuzz) ran above as plain tests; fuzzing
	@# beyond them builds coverage instrumentation for minutes, so it is `make fuzz`, not part of test.

# Popular Helm charts (bitnami/etcd, prometheus-node-exporter) installed with the real helm against
# `skiff up` with its real node (test/e2e TestHelmCharts; needs root and containerd). Not part of
# `make test`: it builds helm, etcd and node_exporter in test/charts (its own module), several
# minutes on 2 cores the first time.
.PHONY: e2e-charts
e2e-charts: ## Install Helm charts (etcd StatefulSet+PDB+hook Job, node-exporter DaemonSet) with helm --wait on `skiff up`.
	SKIFF_E2E_CHARTS=1 $(GO) test -count=1 -timeout $(E2E_TIMEOUT) -run '^TestHelmCharts$$' -v ./test/e2e/

# Upstream's conformance specs (e2e.test of Kubernetes v1.37.2, built in test/conformance, its own
# module) against a fresh `skiff up` with its real node; not part of `make test` (the first build
# of bin/e2e.test takes 20-40 minutes). FOCUS and SKIP are ginkgo regexps.
FOCUS ?= \[sig-apps\] ReplicaSet .*\[Conformance\]
SKIP ?= \[Serial\]|\[Disruptive\]|\[Slow\]

.PHONY: conformance
conformance: ## Run upstream conformance specs matching FOCUS (minus SKIP) against `skiff up` (needs root, containerd).
	GO="$(GO)" FOCUS='$(FOCUS)' SKIP='$(SKIP)' ./hack/conformance.sh

.PHONY: bench
bench: ## Run the benchmarks (API vs raw etcd, watch burst: forced watch closes under 5,000 pods with 20 watchers, tracing overhead on API creates and pod startup (alternating rounds off and on; CPU and wall time), ReplicaSet burst, Job completions next to it, scheduler SchedulingBasic 500 and 5000 nodes, service proxy programming, testenv start, stats of 100 pods vs idle, writes under a list flood with and without its limits, goroutines with deep stacks with and without stackgrow.Grow, a node's resource metrics decoded next to expfmt's parser, a Lease renewal's storage update over gRPC next to the in-process etcd client).
	SKIFF_BENCH_LARGE=1 $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./test/bench/ ./controllers/scheduler/ ./nodeagent/proxy/ ./testenv/
	$(GO) test -run '^$$' -bench StatsCost -benchtime 200x ./nodeagent/stats/
	$(GO) test -run '^$$' -bench ListFlood -benchtime 1x -timeout 20m ./apiserver/
	$(GO) test -run '^$$' -bench DeepGoroutine -benchtime 20000x ./apiserver/stackgrow/
	$(GO) test -run '^$$' -bench DecodeScrape -benchtime 2000x ./apiserver/resourcemetrics/
	$(GO) test -run '^$$' -bench LeaseRenewal -benchtime 3000x ./apiserver/localstore/

# Issue 17's scale run (test/scale): `skiff up --simulated-nodes SCALE_NODES`, SCALE_PODS pods
# created by Deployments of 100, figures next to their goals and upstream's thresholds. Runs under
# /tmp/skiff-scale.lock; SCALE_MAX_RSS_GIB (default 12) kills a run that outgrows the machine.
SCALE_NODES ?= 5000
SCALE_PODS ?= 50000

.PHONY: bench-scale
bench-scale: ## Scale run: SCALE_NODES simulated nodes (5000), SCALE_PODS pods (50000) by Deployments; API p99 per SLO class, scheduling throughput, memory, restart time, CPU and heap top 10, next to goals and upstream's thresholds.
	SKIFF_SCALE=1 SCALE_NODES=$(SCALE_NODES) SCALE_PODS=$(SCALE_PODS) flock /tmp/skiff-scale.lock $(GO) test -count=1 -v -timeout 0 -run '^TestScale$$' ./test/scale/

.PHONY: bench-scale-knee
bench-scale-knee: ## Knee search: nodes 1k, 2k, 5k, 10k (SCALE_KNEE_STEPS) with 10 pods each (SCALE_PODS_PER_NODE); stops at the first step whose API p99 exceeds an SLO.
	SKIFF_SCALE_KNEE=1 flock /tmp/skiff-scale.lock $(GO) test -count=1 -v -timeout 0 -run '^TestScaleKnee$$' ./test/scale/

# go test -fuzz targets as package:FuzzName; `make test` runs only their seed corpora (f.Add and
# testdata/fuzz) as plain tests, `make fuzz` fuzzes beyond them.
FUZZTIME ?= 10s
FUZZ_TARGETS := ./apis:FuzzDecodeRequestBody ./apis:FuzzDecodeHorizontalPodAutoscalerV1 ./apis/validation:FuzzValidate ./nodeagent/kuberuntime:FuzzPodSpecToCRI ./nodeagent/volumes:FuzzVolumePaths ./apiserver/resourcemetrics:FuzzDecode

.PHONY: fuzz
fuzz: ## Fuzz each target for FUZZTIME (default 10s): request body decoding, validation, the agent's pod spec handling.
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; echo "== $$name ($$pkg)"; \
	  $(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; done

.PHONY: vet
vet: ## go vet and gofmt.
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: generate
generate: ## Regenerate generated code (OpenAPI definitions; deepcopy and CRDs with controller-gen).
	./hack/update-openapi.sh
	$(CONTROLLER_GEN) $(CONTROLLER_GEN_ARGS)

.PHONY: verify-generated
verify-generated: ## Check that generated code is current.
	@tmp=$$(mktemp -d); ./hack/update-openapi.sh $$tmp >/dev/null 2>&1 || { echo "openapi-gen failed"; exit 1; }; \
	if ! diff -q $$tmp/zz_generated.openapi.go apiserver/openapi/zz_generated.openapi.go >/dev/null; then \
	  echo "apiserver/openapi/zz_generated.openapi.go is stale: run 'make generate'"; rm -rf $$tmp; exit 1; fi; rm -rf $$tmp
	@CONTROLLER_GEN="$(CONTROLLER_GEN)" ./hack/verify-controller-gen.sh

.PHONY: clean
clean: ## Remove build output.
	rm -rf bin
