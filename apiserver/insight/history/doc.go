// Package history serves `/insight/v1/history` (`skiff history KIND/NAME`): every revision of
// an object still in etcd's history, with a diff against the previous one, who wrote it and
// when.
//
// The revisions come from etcd itself (Walk): the key's current value, then a Get at each
// value's ModRevision-1, until the object's creation (CreateRevision) or etcd's compaction
// (the API server compacts every 5 minutes, as kube-apiserver, so history reaches back 5 to 10
// minutes); a deleted object is found from its deletion's revision, when this server served the
// deletion. Each value is decoded as its storage decodes it: the Recorder wraps every storage
// the API server builds (core, custom resources, CRDs) and keeps its codec, transformer (secrets
// are encrypted at rest) and key prefix per resource.
//
// Build is pure: the snapshots (oldest first) become revisions with a line diff (LineDiff, on
// go-difflib) of the YAML without managedFields and resourceVersion, the field manager whose
// managedFields entry is new or newer than in the previous revision (its time is the
// revision's time), and the user.
//
// Users: Skiff has no audit trail of its own, so the Recorder is a post-write hook on the
// storage: after each create, update or delete made for an API request it records the new
// revision (unique across etcd) with the request's user (the impersonated one when
// impersonating), verb, subresource and time, in a ring of the last DefaultSize (16384) writes.
// It costs a map insert per write and no encoding. What it does not know: writes before this
// API server's last start (the ring is in memory), writes older than the last 16384, and writes
// served by another control-plane member; their user is then empty and their time the
// managedFields entry's.
package history
