// Package images is Skiff's image store: an OCI registry served over plain HTTP (go-containerregistry's
// registry, blobs and manifests kept under the data dir so images survive restarts) that keeps
// images under their full names (docker.io/library/nginx:1.27, registry.k8s.io/pause:3.10), and
// the functions that fill and read it, behind `skiff image build|import|ls|rm`.
//
// Every node's containerd uses the registry as the first mirror of every registry (see the
// containerd package's hosts.toml files): it asks for /v2/library/nginx/manifests/1.27?ns=docker.io,
// which the registry serves from its docker.io/library/nginx repository (StoredRepo), so pods name
// images as anywhere else. Names are normalized as Docker does (ParseName: "nginx" is
// docker.io/library/nginx:latest). Import reads `docker save` and OCI layout archives with the
// names they record (archive.go). The registry listens on a stable address (ListenCandidates:
// the one recorded in <data-dir>/registry.addr, else DefaultAddr), and `skiff up` publishes it in
// kube-system/skiff-registry for joined nodes (publish.go).
//
// It also builds Skiff's own images without the internet (builtin.go): the pause (sandbox) image
// as registry.k8s.io/pause:3.10, busybox (Debian's busybox-static with test/images/nettool as
// wget, nc and nslookup) as docker.io/library/busybox:latest, and skiff-http as
// docker.io/skiff/skiff-http:latest.
package images
