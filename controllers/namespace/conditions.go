package namespace

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/discovery"
)

// conditionTypes are the deletion conditions a terminating namespace always reports.
var conditionTypes = []corev1.NamespaceConditionType{
	corev1.NamespaceDeletionDiscoveryFailure,
	corev1.NamespaceDeletionGVParsingFailure,
	corev1.NamespaceDeletionContentFailure,
	corev1.NamespaceContentRemaining,
	corev1.NamespaceFinalizersRemaining,
}

// okReasons and okMessages describe a condition that is not (or no longer) a problem.
var okReasons = map[corev1.NamespaceConditionType]string{
	corev1.NamespaceDeletionDiscoveryFailure: "ResourcesDiscovered",
	corev1.NamespaceDeletionGVParsingFailure: "ParsedGroupVersions",
	corev1.NamespaceDeletionContentFailure:   "ContentDeleted",
	corev1.NamespaceContentRemaining:         "ContentRemoved",
	corev1.NamespaceFinalizersRemaining:      "ContentHasNoFinalizers",
}

var okMessages = map[corev1.NamespaceConditionType]string{
	corev1.NamespaceDeletionDiscoveryFailure: "All resources successfully discovered",
	corev1.NamespaceDeletionGVParsingFailure: "All legacy kube types successfully parsed",
	corev1.NamespaceDeletionContentFailure:   "All content successfully deleted, may be waiting on finalization",
	corev1.NamespaceContentRemaining:         "All content successfully removed",
	corev1.NamespaceFinalizersRemaining:      "All content-preserving finalizers finished",
}

// remaining counts what is left in a namespace after a deletion pass.
type remaining struct {
	byResource  map[schema.GroupVersionResource]int
	byFinalizer map[string]int
}

func newRemaining() remaining {
	return remaining{byResource: map[schema.GroupVersionResource]int{}, byFinalizer: map[string]int{}}
}

// conditionUpdater collects the problems of one deletion pass.
type conditionUpdater struct {
	conditions   []corev1.NamespaceCondition
	deleteErrors []error
}

func (u *conditionUpdater) set(t corev1.NamespaceConditionType, reason, message string) {
	u.conditions = append(u.conditions, corev1.NamespaceCondition{
		Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message, LastTransitionTime: metav1.Now(),
	})
}

// processDiscoveryErr records a (partial) discovery failure.
func (u *conditionUpdater) processDiscoveryErr(err error) {
	if err == nil {
		return
	}
	var gdf *discovery.ErrGroupDiscoveryFailed
	if errors.As(err, &gdf) {
		u.set(corev1.NamespaceDeletionDiscoveryFailure, "DiscoveryFailed",
			fmt.Sprintf("Discovery failed for some groups, %d failing: %v", len(gdf.Groups), err))
		return
	}
	u.set(corev1.NamespaceDeletionDiscoveryFailure, "DiscoveryFailed", err.Error())
}

func (u *conditionUpdater) processDeleteContentErr(err error) {
	u.deleteErrors = append(u.deleteErrors, err)
}

// processRemaining records the resources and finalizers left.
func (u *conditionUpdater) processRemaining(r remaining) {
	if len(r.byResource) > 0 {
		var list []string
		for gvr, n := range r.byResource {
			list = append(list, fmt.Sprintf("%s.%s has %d resource instances", gvr.Resource, gvr.Group, n))
		}
		sort.Strings(list)
		u.set(corev1.NamespaceContentRemaining, "SomeResourcesRemain",
			"Some resources are remaining: "+strings.Join(list, ", "))
	}
	if len(r.byFinalizer) > 0 {
		var list []string
		for f, n := range r.byFinalizer {
			list = append(list, fmt.Sprintf("%s in %d resource instances", f, n))
		}
		sort.Strings(list)
		u.set(corev1.NamespaceFinalizersRemaining, "SomeFinalizersRemain",
			"Some content in the namespace has finalizers remaining: "+strings.Join(list, ", "))
	}
}

// apply writes the conditions into status (every type present; the ones without a problem
// say so) and tells whether anything changed. Transition times move only on change.
func (u *conditionUpdater) apply(status *corev1.NamespaceStatus) bool {
	if len(u.deleteErrors) > 0 {
		u.set(corev1.NamespaceDeletionContentFailure, "ContentDeletionFailed",
			fmt.Sprintf("Failed to delete all resource types, %d remaining: %v", len(u.deleteErrors), utilerrors.NewAggregate(u.deleteErrors)))
	}
	changed := false
	for _, t := range conditionTypes {
		want := corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, Reason: okReasons[t],
			Message: okMessages[t], LastTransitionTime: metav1.Now()}
		for _, c := range u.conditions {
			if c.Type == t {
				want = c
			}
		}
		if setCondition(status, want) {
			changed = true
		}
	}
	return changed
}

// setCondition puts c into status unless an equal one is there; it tells whether it did.
func setCondition(status *corev1.NamespaceStatus, c corev1.NamespaceCondition) bool {
	for i, old := range status.Conditions {
		if old.Type != c.Type {
			continue
		}
		if old.Status == c.Status && old.Reason == c.Reason && old.Message == c.Message {
			return false
		}
		status.Conditions[i] = c
		return true
	}
	status.Conditions = append(status.Conditions, c)
	return true
}
