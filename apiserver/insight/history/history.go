package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"sigs.k8s.io/yaml"
)

// Revision is one revision of an object, as `/insight/v1/history` answers.
type Revision struct {
	ResourceVersion string    `json:"resourceVersion"`
	Time            time.Time `json:"time,omitzero"`
	// Manager is the field manager whose managedFields entry this revision changed.
	Manager string `json:"manager,omitempty"`
	// Operation is the request's verb and subresource ("patch", "update status") when this API
	// server served it, else managedFields' operation ("update", "apply"), "create" or "delete".
	Operation string `json:"operation,omitempty"`
	// User is the authenticated (or impersonated) user, when this API server served the write
	// since it started.
	User string `json:"user,omitempty"`
	// Diff is a line diff of the object's YAML against the previous revision (managedFields and
	// resourceVersion left out); the first revision's is the whole object.
	Diff string `json:"diff,omitempty"`
	// Object is the object as stored (absent for the deletion).
	Object json.RawMessage `json:"object,omitempty"`
	// Deleted marks the deletion.
	Deleted bool `json:"deleted,omitempty"`
}

// Response is the answer of `/insight/v1/history`.
type Response struct {
	Group     string `json:"group"`
	Resource  string `json:"resource"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Revisions are oldest first.
	Revisions []Revision `json:"revisions"`
	// Compacted says older revisions existed but etcd compacted them (the API server compacts
	// every 5 minutes); Truncated that the limit stopped the walk first.
	Compacted bool `json:"compacted,omitempty"`
	Truncated bool `json:"truncated,omitempty"`
}

// Snapshot is one revision read from etcd: the object as JSON, or a deletion.
type Snapshot struct {
	Rev     int64
	Object  []byte // JSON; nil for a deletion
	Deleted bool
	// Created marks the object's first revision.
	Created bool
}

// Build turns snapshots (oldest first) into revisions with diffs, managers, users and times;
// writes says who wrote a revision when this server saw it.
func Build(snaps []Snapshot, writes func(rev int64) (Write, bool)) ([]Revision, error) {
	out := make([]Revision, 0, len(snaps))
	var prevYAML string
	var prevObj map[string]any
	for _, s := range snaps {
		rev := Revision{ResourceVersion: strconv.FormatInt(s.Rev, 10), Deleted: s.Deleted}
		var obj map[string]any
		if !s.Deleted {
			if err := json.Unmarshal(s.Object, &obj); err != nil {
				return nil, fmt.Errorf("revision %d: %w", s.Rev, err)
			}
			rev.Object = s.Object
			y, err := comparableYAML(obj)
			if err != nil {
				return nil, fmt.Errorf("revision %d: %w", s.Rev, err)
			}
			rev.Diff = LineDiff(prevYAML, y)
			prevYAML = y
			var sub *string
			if w, ok := writes(s.Rev); ok {
				sub = &w.Subresource
			}
			if e, ok := writer(prevObj, obj, sub); ok {
				rev.Manager, rev.Time = e.Manager, e.Time
				rev.Operation = strings.ToLower(e.Operation)
				if e.Subresource != "" {
					rev.Operation += " " + e.Subresource
				}
			}
			if s.Created {
				rev.Operation = "create"
				if rev.Time.IsZero() {
					rev.Time = timeField(obj, "creationTimestamp")
				}
			}
		} else {
			rev.Operation = "delete"
			if prevObj != nil {
				rev.Time = timeField(prevObj, "deletionTimestamp")
			}
		}
		if w, ok := writes(s.Rev); ok {
			rev.User, rev.Time = w.User, w.Time
			if w.Verb != "" {
				rev.Operation = w.Operation()
			}
		}
		prevObj = obj
		out = append(out, rev)
	}
	return out, nil
}

// comparableYAML is the object's YAML without managedFields and resourceVersion, which change
// on every write.
func comparableYAML(obj map[string]any) (string, error) {
	c := make(map[string]any, len(obj))
	for k, v := range obj {
		c[k] = v
	}
	if md, ok := obj["metadata"].(map[string]any); ok {
		m := make(map[string]any, len(md))
		for k, v := range md {
			if k != "managedFields" && k != "resourceVersion" {
				m[k] = v
			}
		}
		c["metadata"] = m
	}
	b, err := yaml.Marshal(c)
	return string(b), err
}

type managedEntry struct {
	Manager, Operation, Subresource string
	Time                            time.Time
}

func managedEntries(obj map[string]any) []managedEntry {
	md, _ := obj["metadata"].(map[string]any)
	list, _ := md["managedFields"].([]any)
	var out []managedEntry
	for _, it := range list {
		m, _ := it.(map[string]any)
		e := managedEntry{}
		e.Manager, _ = m["manager"].(string)
		e.Operation, _ = m["operation"].(string)
		e.Subresource, _ = m["subresource"].(string)
		if ts, _ := m["time"].(string); ts != "" {
			e.Time, _ = time.Parse(time.RFC3339, ts)
		}
		out = append(out, e)
	}
	return out
}

// writer is the managedFields entry this revision changed: new, or with a later time than in
// the previous revision (all of them for the first revision). Times have a resolution of a
// second, so a manager writing twice in one second keeps its time: when no entry changed, the
// writer is among those with the latest time (the writer's is now, no other's is later). The
// recorded write's subresource (nil when unknown) then picks among them, and the latest wins.
func writer(prev, cur map[string]any, subresource *string) (managedEntry, bool) {
	before := map[[3]string]time.Time{}
	for _, e := range managedEntries(prev) {
		before[[3]string{e.Manager, e.Operation, e.Subresource}] = e.Time
	}
	entries := managedEntries(cur)
	var changed []managedEntry
	var latest time.Time
	for _, e := range entries {
		t, ok := before[[3]string{e.Manager, e.Operation, e.Subresource}]
		if prev == nil || !ok || e.Time.After(t) {
			changed = append(changed, e)
		}
		if e.Time.After(latest) {
			latest = e.Time
		}
	}
	if len(changed) == 0 {
		for _, e := range entries {
			if e.Time.Equal(latest) {
				changed = append(changed, e)
			}
		}
	}
	if subresource != nil {
		var same []managedEntry
		for _, e := range changed {
			if e.Subresource == *subresource {
				same = append(same, e)
			}
		}
		if len(same) > 0 {
			changed = same
		}
	}
	if len(changed) == 0 {
		return managedEntry{}, false
	}
	sort.SliceStable(changed, func(i, j int) bool { return changed[i].Time.After(changed[j].Time) })
	return changed[0], true
}

func timeField(obj map[string]any, field string) time.Time {
	md, _ := obj["metadata"].(map[string]any)
	s, _ := md[field].(string)
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

// Raw is one value of the key read from etcd, newest first.
type Raw struct {
	Rev     int64
	Value   []byte
	Deleted bool
	Created bool // the object's first revision
}

// Walk reads the key's revisions from etcd, newest first: the current value, then each earlier
// one (Get at ModRevision-1) until the creation or etcd's compaction (compacted is then true),
// at most limit. When the key does not exist, deletedAt (if not 0) is the revision that
// deleted it, and the walk starts from the value before it.
func Walk(ctx context.Context, kv clientv3.KV, key string, deletedAt func() int64, limit int) (revs []Raw, compacted, truncated bool, err error) {
	var at int64
	for {
		if len(revs) >= limit {
			return revs, false, true, nil
		}
		var opts []clientv3.OpOption
		if at > 0 {
			opts = append(opts, clientv3.WithRev(at))
		}
		resp, err := kv.Get(ctx, key, opts...)
		if errors.Is(err, rpctypes.ErrCompacted) {
			return revs, true, false, nil
		}
		if err != nil {
			return nil, false, false, fmt.Errorf("reading %s at revision %d: %w", key, at, err)
		}
		if len(resp.Kvs) == 0 {
			if at == 0 && deletedAt != nil {
				if d := deletedAt(); d > 0 && d <= resp.Header.Revision {
					revs = append(revs, Raw{Rev: d, Deleted: true})
					at = d - 1
					continue
				}
			}
			return revs, false, false, nil
		}
		v := resp.Kvs[0]
		created := v.ModRevision == v.CreateRevision
		revs = append(revs, Raw{Rev: v.ModRevision, Value: v.Value, Created: created})
		if created {
			return revs, false, false, nil
		}
		at = v.ModRevision - 1
	}
}
