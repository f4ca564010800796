package apiserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
)

// openAPIV3Merge serves /openapi/v3 for the core server and its apiextensions delegate together,
// as kube-apiserver's aggregator does: the root lists both servers' group versions, and each
// group version's document comes from whichever server has it (CRDs live in the delegate).
type openAPIV3Merge struct {
	delegate atomic.Pointer[http.Handler]
}

func (m *openAPIV3Merge) setDelegate(h http.Handler) { m.delegate.Store(&h) }

// wrap intercepts /openapi/v3 requests in front of next (the core server's handler).
func (m *openAPIV3Merge) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dp := m.delegate.Load()
		if dp == nil || r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/openapi/v3") {
			next.ServeHTTP(w, r)
			return
		}
		delegate := *dp
		if strings.TrimSuffix(r.URL.Path, "/") == "/openapi/v3" {
			m.serveRoot(w, r, next, delegate)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		// kube-openapi answers an unknown group version with an empty 200.
		if rec.Code == http.StatusNotFound || (rec.Code == http.StatusOK && rec.Body.Len() == 0) {
			delegate.ServeHTTP(w, r)
			return
		}
		copyResponse(w, rec)
	})
}

type openAPIV3Root struct {
	Paths map[string]json.RawMessage `json:"paths"`
}

func (m *openAPIV3Merge) serveRoot(w http.ResponseWriter, r *http.Request, servers ...http.Handler) {
	merged := openAPIV3Root{Paths: map[string]json.RawMessage{}}
	for _, h := range servers {
		rec := httptest.NewRecorder()
		req := r.Clone(r.Context())
		req.Header.Del("If-None-Match")
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			continue
		}
		var root openAPIV3Root
		if err := json.Unmarshal(rec.Body.Bytes(), &root); err != nil {
			continue
		}
		for path, entry := range root.Paths {
			merged.Paths[path] = entry
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(merged)
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}
