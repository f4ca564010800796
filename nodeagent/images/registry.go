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

// Registry is Skiff's loopback OCI registry.
type Registry struct {
	dir    string
	listen string

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

// NewRegistry returns a registry storing under dir and listening on listen ("" means
// 127.0.0.1:0, a free port; Addr tells which).
func NewRegistry(dir, listen string) *Registry {
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	return &Registry{dir: dir, listen: listen, index: map[string]indexEntry{}, ready: make(chan struct{})}
}

func (r *Registry) blobDir() string   { return filepath.Join(r.dir, "blobs") }
func (r *Registry) indexPath() string { return filepath.Join(r.dir, "manifests.json") }

// Addr is host:port of the registry once Start returned.
func (r *Registry) Addr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addr
}

// Ref returns the full reference of repo[:tag] in this registry, e.g. 127.0.0.1:5000/skiff/pause:3.10.
func (r *Registry) Ref(repoTag string) string {
	return r.Addr() + "/" + repoTag
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
	ln, err := net.Listen("tcp", r.listen)
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

var manifestPath = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)

// serve passes requests to the registry and records successful manifest PUTs (and DELETEs) on
// disk.
func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
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

// reference parses ref; a reference without a registry host ("skiff/pause:3.10") is taken to be
// in this registry.
func (r *Registry) reference(ref string) (name.Reference, error) {
	select {
	case <-r.ready:
	default:
		return nil, errors.New("registry not started")
	}
	if first, _, found := strings.Cut(ref, "/"); !found || !(strings.ContainsAny(first, ".:") || first == "localhost") {
		ref = r.Addr() + "/" + ref
	}
	return name.ParseReference(ref, name.Insecure)
}

// Push writes img to this registry under ref ("skiff/name:tag" or a full reference into it) and
// returns the full reference.
func (r *Registry) Push(ctx context.Context, img v1.Image, ref string) (string, error) {
	nref, err := r.reference(ref)
	if err != nil {
		return "", err
	}
	if err := remote.Write(nref, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("pushing %s: %w", nref, err)
	}
	return nref.String(), nil
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
