package history

import (
	"context"
	"path"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/utils/clock"

	"github.com/skiff-dev/skiff/apiserver/storagewrap"
)

// Write is who made one revision, as the API server saw the request.
type Write struct {
	User        string    `json:"user"`
	Verb        string    `json:"verb"`
	Subresource string    `json:"subresource,omitempty"`
	Time        time.Time `json:"time"`
}

// Operation is the verb with its subresource ("patch status").
func (w Write) Operation() string {
	if w.Subresource == "" {
		return w.Verb
	}
	return w.Verb + " " + w.Subresource
}

// DefaultSize is how many writes a Recorder remembers.
const DefaultSize = 16384

// Recorder remembers, for the last writes through this API server, the user and verb of each
// new resourceVersion (etcd revisions are unique across the whole store, so the revision alone
// names the write), and where objects were deleted. It also knows each resource's storage
// (codec, transformer, key prefix) so that history decodes etcd's values as the storage does.
type Recorder struct {
	clock clock.PassiveClock

	mu     sync.Mutex
	size   int
	ring   []ringEntry
	next   int
	byRev  map[int64]Write
	delAt  map[string]int64 // etcd key -> revision of its last deletion
	stores map[schema.GroupResource]StorageInfo
}

type ringEntry struct {
	rev int64
	key string // set for deletions
}

// StorageInfo is how one resource is stored.
type StorageInfo struct {
	Config storagebackend.ConfigForResource
	// ResourcePrefix is the registry's prefix under Config.Prefix ("pods", "deployments").
	ResourcePrefix string
}

// Key is the etcd key of an object.
func (si StorageInfo) Key(namespace, name string) string {
	return "/" + strings.TrimPrefix(path.Join(si.Config.Prefix, si.ResourcePrefix, namespace, name), "/")
}

// NewRecorder remembers up to size writes (DefaultSize when size <= 0).
func NewRecorder(size int, c clock.PassiveClock) *Recorder {
	if size <= 0 {
		size = DefaultSize
	}
	if c == nil {
		c = clock.RealClock{}
	}
	return &Recorder{clock: c, size: size, ring: make([]ringEntry, size), byRev: map[int64]Write{},
		delAt: map[string]int64{}, stores: map[schema.GroupResource]StorageInfo{}}
}

// record remembers the write of revision rev (once: a no-op update keeps the revision of the
// write that made it); key is set for a deletion.
func (r *Recorder) record(rev int64, w Write, key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byRev[rev]; ok {
		return
	}
	old := r.ring[r.next]
	if old.rev != 0 {
		delete(r.byRev, old.rev)
		if old.key != "" && r.delAt[old.key] == old.rev {
			delete(r.delAt, old.key)
		}
	}
	r.ring[r.next] = ringEntry{rev: rev, key: key}
	r.next = (r.next + 1) % r.size
	r.byRev[rev] = w
	if key != "" {
		r.delAt[key] = rev
	}
}

// Write returns who wrote revision rev, if this server saw it.
func (r *Recorder) Write(rev int64) (Write, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.byRev[rev]
	return w, ok
}

// DeletedAt is the revision of the last deletion of the etcd key this server saw (0: none).
func (r *Recorder) DeletedAt(key string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.delAt[key]
}

// Storage returns how gr is stored (a resource stored under another group's name, as
// events.k8s.io's events in core's storage, is found by its resource when that is unique).
func (r *Recorder) Storage(gr schema.GroupResource) (StorageInfo, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if si, ok := r.stores[gr]; ok {
		return si, true
	}
	var found []StorageInfo
	for k, si := range r.stores {
		if k.Resource == gr.Resource {
			found = append(found, si)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return StorageInfo{}, false
}

func (r *Recorder) addStorage(config *storagebackend.ConfigForResource, resourcePrefix string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.stores[config.GroupResource]; !ok {
		r.stores[config.GroupResource] = StorageInfo{Config: *config, ResourcePrefix: resourcePrefix}
	}
}

// WrapGetter makes every storage g builds record its writes in r (a post-write hook on the
// storage, where the request's user is in the context and the written object carries its new
// resourceVersion).
func (r *Recorder) WrapGetter(g generic.RESTOptionsGetter) generic.RESTOptionsGetter {
	return storagewrap.Getter(g, func(config *storagebackend.ConfigForResource, resourcePrefix string, s storage.Interface) storage.Interface {
		r.addStorage(config, resourcePrefix)
		return &recording{Interface: s, r: r, prefix: config.Prefix}
	})
}

// recording is a storage that records the writes made for API requests.
type recording struct {
	storage.Interface
	r      *Recorder
	prefix string
}

func (s *recording) Create(ctx context.Context, key string, obj, out runtime.Object, ttl uint64) error {
	err := s.Interface.Create(ctx, key, obj, out, ttl)
	if err == nil {
		s.written(ctx, out, "")
	}
	return err
}

func (s *recording) Delete(ctx context.Context, key string, out runtime.Object, preconditions *storage.Preconditions,
	validateDeletion storage.ValidateObjectFunc, cachedExistingObject runtime.Object, opts storage.DeleteOptions) error {
	err := s.Interface.Delete(ctx, key, out, preconditions, validateDeletion, cachedExistingObject, opts)
	if err == nil {
		// out carries the revision of the deletion.
		s.written(ctx, out, "/"+strings.TrimPrefix(path.Join(s.prefix, key), "/"))
	}
	return err
}

func (s *recording) GuaranteedUpdate(ctx context.Context, key string, destination runtime.Object, ignoreNotFound bool,
	preconditions *storage.Preconditions, tryUpdate storage.UpdateFunc, cachedExistingObject runtime.Object) error {
	err := s.Interface.GuaranteedUpdate(ctx, key, destination, ignoreNotFound, preconditions, tryUpdate, cachedExistingObject)
	if err == nil {
		s.written(ctx, destination, "")
	}
	return err
}

func (s *recording) written(ctx context.Context, obj runtime.Object, deletedKey string) {
	u, ok := request.UserFrom(ctx)
	if !ok {
		return
	}
	rev, err := s.Interface.Versioner().ObjectResourceVersion(obj)
	if err != nil || rev == 0 {
		return
	}
	w := Write{User: u.GetName(), Time: s.r.clock.Now()}
	if info, ok := request.RequestInfoFrom(ctx); ok {
		w.Verb, w.Subresource = info.Verb, info.Subresource
	}
	s.r.record(int64(rev), w, deletedKey)
}
