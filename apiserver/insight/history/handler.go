package history

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/value"
)

// Path is where the API server serves object histories.
const Path = "/insight/v1/history"

// DefaultLimit bounds the revisions of one answer unless the request sets limit.
const DefaultLimit = 100

// Handler serves Path: GET ?group=G&version=V&resource=R&namespace=NS&name=N[&limit=L].
type Handler struct {
	Recorder *Recorder
	// KV reads etcd (the API server's own members).
	KV clientv3.KV
	// Scheme and Codecs encode built-in objects in the version asked for.
	Scheme *runtime.Scheme
	Codecs serializer.CodecFactory
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("only GET is served"))
		return
	}
	q := r.URL.Query()
	gvr := schema.GroupVersionResource{Group: q.Get("group"), Version: q.Get("version"), Resource: q.Get("resource")}
	ns, name := q.Get("namespace"), q.Get("name")
	if gvr.Resource == "" || name == "" {
		writeError(w, http.StatusBadRequest, fmt.Errorf("resource and name are required"))
		return
	}
	limit := DefaultLimit
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("limit %q is not a positive number", l))
			return
		}
		limit = n
	}
	resp, status, err := h.History(r.Context(), gvr, ns, name, limit)
	if err != nil {
		writeError(w, status, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// History reads the object's revisions; on error it also returns the HTTP status.
func (h *Handler) History(ctx context.Context, gvr schema.GroupVersionResource, ns, name string, limit int) (*Response, int, error) {
	si, ok := h.Recorder.Storage(gvr.GroupResource())
	if !ok {
		return nil, http.StatusNotFound, fmt.Errorf("the server does not store %s", gvr.GroupResource())
	}
	gv := gvr.GroupVersion()
	if gv.Version == "" {
		if vs := h.Scheme.PrioritizedVersionsForGroup(gv.Group); len(vs) > 0 {
			gv = vs[0]
		}
	}
	key := si.Key(ns, name)
	raws, compacted, truncated, err := Walk(ctx, h.KV, key, func() int64 { return h.Recorder.DeletedAt(key) }, limit)
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	if len(raws) == 0 {
		return nil, http.StatusNotFound, fmt.Errorf("%s %q not found in etcd's history", gvr.GroupResource(), name)
	}
	snaps := make([]Snapshot, len(raws))
	for i, raw := range raws {
		s := Snapshot{Rev: raw.Rev, Deleted: raw.Deleted, Created: raw.Created}
		if !raw.Deleted {
			if s.Object, err = h.decode(ctx, si, key, raw, gv); err != nil {
				return nil, http.StatusInternalServerError, fmt.Errorf("decoding revision %d: %w", raw.Rev, err)
			}
		}
		snaps[len(raws)-1-i] = s // oldest first
	}
	revs, err := Build(snaps, h.Recorder.Write)
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	return &Response{Group: gvr.Group, Resource: gvr.Resource, Namespace: ns, Name: name, Revisions: revs,
		Compacted: compacted, Truncated: truncated}, http.StatusOK, nil
}

// decode reads a stored value as the resource's storage does (transformer, codec, the revision
// as resourceVersion) and encodes it as JSON in gv (custom resources as they are).
func (h *Handler) decode(ctx context.Context, si StorageInfo, key string, raw Raw, gv schema.GroupVersion) ([]byte, error) {
	data := raw.Value
	if t := si.Config.Transformer; t != nil {
		var err error
		if data, _, err = t.TransformFromStorage(ctx, data, value.DefaultContext(key)); err != nil {
			return nil, err
		}
	}
	obj, err := runtime.Decode(si.Config.Codec, data)
	if err != nil {
		return nil, err
	}
	if err := (storage.APIObjectVersioner{}).UpdateObject(obj, uint64(raw.Rev)); err != nil {
		return nil, err
	}
	if u, ok := obj.(runtime.Unstructured); ok {
		return json.Marshal(u.UnstructuredContent())
	}
	return runtime.Encode(h.Codecs.LegacyCodec(gv), obj)
}

func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
