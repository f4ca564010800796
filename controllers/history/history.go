package history

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/dump"
)

// ControllerRevisionHashLabel is the label holding the hash of a ControllerRevision's data.
const ControllerRevisionHashLabel = "controller.kubernetes.io/hash"

// maxPrefix keeps "<prefix>-<hash>" within the 253 characters of a name.
const maxPrefix = 223

// ControllerRevisionName returns "<prefix>-<hash>", the prefix cut to 223 bytes.
func ControllerRevisionName(prefix, hash string) string {
	if len(prefix) > maxPrefix {
		prefix = prefix[:maxPrefix]
	}
	return prefix + "-" + hash
}

// NewControllerRevision returns a revision controlled by parent (of kind parentKind) with the
// template's labels, data and revision number, named after the hash of its data and
// collisionCount.
func NewControllerRevision(parent metav1.Object, parentKind schema.GroupVersionKind, templateLabels map[string]string,
	data runtime.RawExtension, revision int64, collisionCount *int32) *appsv1.ControllerRevision {
	labelMap := make(map[string]string, len(templateLabels)+1)
	for k, v := range templateLabels {
		labelMap[k] = v
	}
	cr := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       parent.GetNamespace(),
			Labels:          labelMap,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(parent, parentKind)},
		},
		Data:     data,
		Revision: revision,
	}
	hash := HashControllerRevision(cr, collisionCount)
	cr.Name = ControllerRevisionName(parent.GetName(), hash)
	cr.Labels[ControllerRevisionHashLabel] = hash
	return cr
}

// HashControllerRevision hashes the revision's data (FNV-32), and probe when set, into a string
// safe for names.
func HashControllerRevision(revision *appsv1.ControllerRevision, probe *int32) string {
	hf := fnv.New32()
	if len(revision.Data.Raw) > 0 {
		hf.Write(revision.Data.Raw)
	}
	if revision.Data.Object != nil {
		fmt.Fprintf(hf, "%v", dump.ForHash(revision.Data.Object))
	}
	if probe != nil {
		hf.Write([]byte(strconv.FormatInt(int64(*probe), 10)))
	}
	return rand.SafeEncodeString(fmt.Sprint(hf.Sum32()))
}

// SortControllerRevisions sorts revisions by revision number, then creation time, then name.
func SortControllerRevisions(revisions []*appsv1.ControllerRevision) {
	sort.SliceStable(revisions, func(i, j int) bool {
		a, b := revisions[i], revisions[j]
		if a.Revision != b.Revision {
			return a.Revision < b.Revision
		}
		if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.Name < b.Name
		}
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	})
}

// EqualRevision tells whether both are nil or both hold semantically equal data. Differing
// numeric hash labels settle it early, as upstream.
func EqualRevision(lhs, rhs *appsv1.ControllerRevision) bool {
	if lhs == nil || rhs == nil {
		return lhs == rhs
	}
	lh, lok := numericHash(lhs)
	rh, rok := numericHash(rhs)
	if lok && rok && lh != rh {
		return false
	}
	return bytes.Equal(lhs.Data.Raw, rhs.Data.Raw) && apiequality.Semantic.DeepEqual(lhs.Data.Object, rhs.Data.Object)
}

func numericHash(cr *appsv1.ControllerRevision) (uint32, bool) {
	hs, found := cr.Labels[ControllerRevisionHashLabel]
	if !found {
		return 0, false
	}
	h, err := strconv.ParseInt(hs, 10, 32)
	return uint32(h), err == nil
}

// FindEqualRevisions returns the revisions equal to needle, in their order.
func FindEqualRevisions(revisions []*appsv1.ControllerRevision, needle *appsv1.ControllerRevision) []*appsv1.ControllerRevision {
	var eq []*appsv1.ControllerRevision
	for _, r := range revisions {
		if EqualRevision(r, needle) {
			eq = append(eq, r)
		}
	}
	return eq
}

// NextRevision is one more than the highest revision number of revisions (1 for none).
func NextRevision(revisions []*appsv1.ControllerRevision) int64 {
	var highest int64
	for _, r := range revisions {
		highest = max(highest, r.Revision)
	}
	return highest + 1
}
