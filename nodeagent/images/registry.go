// Package images is Skiff's local image store: an OCI registry served over plain HTTP on
// loopback (go-containerregistry's registry, blobs and manifests kept under the data dir so images
// survive restarts), from which each node's containerd pulls, and the functions that put images in
// it (build from a directory, import a tarball, push an image), which back `skiff image
// build|import`. It also builds Skiff's own images without the internet: the pause (sandbox)
// image, busybox and skiff-http (see builtin.go).
package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"k8s.io/klog/v2"
)

// Registry is Skiff's loopback OCI registry. It keeps images under their full names: the
// repository of docker.io/library/nginx:1.27 is "docker.io/library/nginx". A node's containerd
// uses it as a mirror of every registry (see the containerd package's hosts.toml): it asks for
// /v2/library/nginx/manifests/1.27?ns=docker.io, which is served from that repository; a
// request without ns= names the repository itself (/v2/docker.io/library/nginx/...), and a
// path without a registry host is taken as Docker Hub's (/v2/skiff/busybox is
// docker.io/skiff/busybox), so the older ADDR/skiff/busybox:latest names keep working.
type Registry struct {
	dir    string
	listen []string

	mu      sync.Mutex
	addr    string
	handler http.Handler
	index   map[string]indexEntry // "repo:tag" and "repo@digest" -> manifest
	ready   chan struct{}
}

// indexEntry is one manifest reference kept on disk, so manifests (which go-containerregistry's
// registry keeps in memory) are replayed at the next start.
type indexEntry struct {
	Repo      string `json:"repo"`
	Reference string `json:"reference"` // tag or digest
	Digest    string `json:"digest"`    // sha256:... of the manifest bytes (stored in the blob dir)
	MediaType string `json:"mediaType"`
}

// DefaultAddr is where a node's registry listens unless its data dir recorded another address
// (see ListenCandidates): a fixed port, so that its address stays the same across restarts.
const DefaultAddr = "127.0.0.1:5000"

// NewRegistry returns a registry storing under dir and listening on the first of listen that
// can be had ("" or none means 127.0.0.1:0, a free port; Addr tells which).
func NewRegistry(dir string, listen ...string) *Registry {
	var addrs []string
	for _, l := range listen {
		if l == "" {
			l = "127.0.0.1:0"
		}
		addrs = append(addrs, l)
	}
	if len(addrs) == 0 {
		addrs = []string{"127.0.0.1:0"}
	}
	return &Registry{dir: dir, listen: addrs, index: map[string]indexEntry{}, ready: make(chan struct{})}
}

// ListenCandidates is where a node's registry tries to listen, in order: the address it had
// before (recorded, from <data-dir>/registry.addr), DefaultAddr, then any free loopback port.
func ListenCandidates(recorded string) []string {
	out := []string{}
	if host, port, err := net.SplitHostPort(strings.TrimSpace(recorded)); err == nil && port != "0" && port != "" {
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			out = append(out, net.JoinHostPort(host, port))
		}
	}
	if len(out) == 0 || out[0] != DefaultAddr {
		out = append(out, DefaultAddr)
	}
	return append(out, "127.0.0.1:0")
}

func (r *Registry) blobDir() string   { return filepath.Join(r.dir, "blobs") }
func (r *Registry) indexPath() string { return filepath.Join(r.dir, "manifests.json") }

// Addr is host:port of the registry once Start returned.
func (r *Registry) Addr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addr
}

// Ref returns the reference of an image name inside this registry, e.g.
// 127.0.0.1:5000/registry.k8s.io/pause:3.10 for registry.k8s.io/pause:3.10.
func (r *Registry) Ref(image string) string {
	n, err := ParseName(image)
	if err != nil {
		return r.Addr() + "/" + image
	}
	return r.Addr() + "/" + n.String()
}

// Start listens, replays the manifests stored under the data dir, and serves until ctx ends.
func (r *Registry) Start(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithName("registry")
	if err := os.MkdirAll(r.blobDir(), 0o700); err != nil {
		return err
	}
	inner := registry.New(
		registry.WithBlobHandler(registry.NewDiskBlobHandler(r.blobDir())),
		registry.Logger(log.New(io.Discard, "", 0)),
	)
	r.handler = inner
	if err := r.replay(); err != nil {
		return fmt.Errorf("registry: restoring manifests from %s: %w", r.indexPath(), err)
	}
	var ln net.Listener
	var err error
	for _, addr := range r.listen {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		logger.V(2).Info("Registry address taken, trying the next", "address", addr, "err", err)
	}
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	r.mu.Lock()
	r.addr = ln.Addr().String()
	r.mu.Unlock()
	srv := &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error(err, "registry stopped")
		}
	}()
	logger.Info("Serving image registry", "address", r.addr, "dir", r.dir)
	close(r.ready)
	return nil
}

var (
	manifestPath = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)
	repoPath     = regexp.MustCompile(`^/v2/(.+)/(manifests|blobs|tags)/(.*)$`)
)

// StoredRepo is the repository under which the registry keeps what a request names: path is the
// repository of the URL, ns the registry containerd asks for when it uses this registry as a
// mirror (its ?ns= parameter), self this registry's own address. Without ns (or with this
// registry's own), the path's first component is the registry if it is a host name, else
// docker.io.
func StoredRepo(path, ns, self string) string {
	path = strings.Trim(path, "/")
	if ns != "" && ns != self {
		if ns == "index.docker.io" || ns == "registry-1.docker.io" {
			ns = DockerHub
		}
		if ns == DockerHub && !strings.Contains(path, "/") {
			path = "library/" + path
		}
		return ns + "/" + path
	}
	registry, repo := normalizeRepo(path)
	return registry + "/" + repo
}

// route rewrites a request's repository to the one the registry stores it under (StoredRepo).
func (r *Registry) route(req *http.Request) {
	m := repoPath.FindStringSubmatch(req.URL.Path)
	if m == nil {
		return
	}
	stored := StoredRepo(m[1], req.URL.Query().Get("ns"), r.Addr())
	if stored == m[1] {
		return
	}
	req.URL.Path = "/v2/" + stored + "/" + m[2] + "/" + m[3]
	req.URL.RawPath = ""
}

// writeMethod is a request that changes the registry.
func writeMethod(m string) bool {
	return m == http.MethodPut || m == http.MethodPost || m == http.MethodPatch || m == http.MethodDelete
}

// serve passes requests to the registry and records successful manifest PUTs (and DELETEs) on
// disk. Only clients on this machine may change images.
func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
	if writeMethod(req.Method) && !fromLoopback(req.RemoteAddr) {
		http.Error(w, "images are pushed from the registry's own machine (skiff image import|build)", http.StatusForbidden)
		return
	}
	r.route(req)
	m := manifestPath.FindStringSubmatch(req.URL.Path)
	if m == nil || (req.Method != http.MethodPut && req.Method != http.MethodDelete) {
		r.handler.ServeHTTP(w, req)
		return
	}
	repo, ref := m[1], m[2]
	var body []byte
	if req.Method == http.MethodPut {
		var err error
		body, err = io.ReadAll(io.LimitReader(req.Body, 16<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	rec := &statusRecorder{ResponseWriter: w}
	r.handler.ServeHTTP(rec, req)
	if rec.status/100 != 2 {
		return
	}
	if err := r.record(req.Method, repo, ref, req.Header.Get("Content-Type"), body); err != nil {
		klog.Background().WithName("registry").Error(err, "recording manifest", "repo", repo, "reference", ref)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// record keeps a pushed manifest: its bytes in the blob dir, its reference in manifests.json.
func (r *Registry) record(method, repo, ref, mediaType string, body []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := repo + "\x00" + ref
	if method == http.MethodDelete {
		delete(r.index, key)
		return r.saveIndexLocked()
	}
	sum := sha256.Sum256(body)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	p := filepath.Join(r.blobDir(), "sha256", hex.EncodeToString(sum[:]))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	if _, err := os.Stat(p); err != nil {
		if err := writeFileAtomic(p, body); err != nil {
			return err
		}
	}
	r.index[key] = indexEntry{Repo: repo, Reference: ref, Digest: digest, MediaType: mediaType}
	return r.saveIndexLocked()
}

func (r *Registry) saveIndexLocked() error {
	entries := make([]indexEntry, 0, len(r.index))
	for _, e := range r.index {
		entries = append(entries, e)
	}
	// Digest references first, so that an index is replayed after the manifests it refers to
	// regardless of tag order; then stable.
	sort.Slice(entries, func(i, j int) bool {
		di, dj := strings.HasPrefix(entries[i].Reference, "sha256:"), strings.HasPrefix(entries[j].Reference, "sha256:")
		if di != dj {
			return di
		}
		return entries[i].Repo+entries[i].Reference < entries[j].Repo+entries[j].Reference
	})
	b, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(r.indexPath(), b)
}

// replay PUTs the stored manifests into the in-memory manifest store.
func (r *Registry) replay() error {
	b, err := os.ReadFile(r.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var entries []indexEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return err
	}
	// Replay in rounds: a manifest list is refused until the manifests it lists exist.
	pending := entries
	for len(pending) > 0 {
		var next []indexEntry
		var lastErr error
		for _, e := range pending {
			// Entries of older versions name repositories without their registry (skiff/busybox).
			e.Repo = StoredRepo(e.Repo, "", "")
			body, err := os.ReadFile(filepath.Join(r.blobDir(), "sha256", strings.TrimPrefix(e.Digest, "sha256:")))
			if err != nil {
				klog.Background().Info("Dropping stored manifest whose bytes are missing", "repo", e.Repo, "reference", e.Reference)
				continue
			}
			req := httptest.NewRequest(http.MethodPut, "/v2/"+e.Repo+"/manifests/"+e.Reference, bytes.NewReader(body))
			req.Header.Set("Content-Type", e.MediaType)
			rec := httptest.NewRecorder()
			r.handler.ServeHTTP(rec, req)
			if rec.Code/100 != 2 {
				lastErr = fmt.Errorf("%s:%s: %d %s", e.Repo, e.Reference, rec.Code, strings.TrimSpace(rec.Body.String()))
				next = append(next, e)
				continue
			}
			r.index[e.Repo+"\x00"+e.Reference] = e
		}
		if len(next) == len(pending) {
			return lastErr
		}
		pending = next
	}
	return nil
}

func fromLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func writeFileAtomic(p string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// reference is image (any name, normalized as Docker does) inside this registry.
func (r *Registry) reference(image string) (name.Reference, error) {
	select {
	case <-r.ready:
	default:
		return nil, errors.New("registry not started")
	}
	return RefIn(r.Addr(), image)
}

// RefIn is image (normalized as Docker does: "nginx" is docker.io/library/nginx:latest) inside
// the registry at addr: addr/docker.io/library/nginx:latest.
func RefIn(addr, image string) (name.Reference, error) {
	n, err := ParseName(image)
	if err != nil {
		return nil, err
	}
	if n.Digest != "" {
		return name.NewDigest(addr+"/"+n.Repo()+"@"+n.Digest, name.Insecure)
	}
	return name.NewTag(addr+"/"+n.Repo()+":"+n.Tag, name.Insecure)
}

// Push writes img to this registry under image, its name as pods give it ("nginx:1.27",
// "registry.k8s.io/pause:3.10"), and returns the normalized name.
func (r *Registry) Push(ctx context.Context, img v1.Image, image string) (string, error) {
	select {
	case <-r.ready:
	default:
		return "", errors.New("registry not started")
	}
	return Push(ctx, r.Addr(), img, image)
}

// Has reports whether ref is in this registry.
func (r *Registry) Has(ctx context.Context, ref string) bool {
	nref, err := r.reference(ref)
	if err != nil {
		return false
	}
	_, err = remote.Head(nref, remote.WithContext(ctx))
	return err == nil
}

// Image returns the image ref from this registry.
func (r *Registry) Image(ctx context.Context, ref string) (v1.Image, error) {
	nref, err := r.reference(ref)
	if err != nil {
		return nil, err
	}
	return remote.Image(nref, remote.WithContext(ctx))
}
