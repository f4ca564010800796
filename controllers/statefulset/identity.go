package statefulset

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/skiff-dev/skiff/controllers/history"
)

var controllerKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")

// statefulPodRegex parses "<parent>-<ordinal>".
var statefulPodRegex = regexp.MustCompile("(.*)-([0-9]+)$")

// ParentAndOrdinal splits a pod name into the StatefulSet's name and the ordinal; -1 when the
// name is not of that form.
func ParentAndOrdinal(name string) (string, int) {
	m := statefulPodRegex.FindStringSubmatch(name)
	if len(m) != 3 {
		return "", -1
	}
	i, err := strconv.ParseInt(m[2], 10, 32)
	if err != nil {
		return "", -1
	}
	return m[1], int(i)
}

func ordinalOf(pod *corev1.Pod) int {
	_, o := ParentAndOrdinal(pod.Name)
	return o
}

// PodName is "<set>-<ordinal>".
func PodName(set *appsv1.StatefulSet, ordinal int) string {
	return fmt.Sprintf("%s-%d", set.Name, ordinal)
}

// ClaimName is "<template>-<set>-<ordinal>", the claim of a volumeClaimTemplate for a pod.
func ClaimName(set *appsv1.StatefulSet, claim *corev1.PersistentVolumeClaim, ordinal int) string {
	return fmt.Sprintf("%s-%s-%d", claim.Name, set.Name, ordinal)
}

// startOrdinal is spec.ordinals.start (0 when unset); endOrdinal the last ordinal in range.
func startOrdinal(set *appsv1.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

func endOrdinal(set *appsv1.StatefulSet) int { return startOrdinal(set) + int(replicasOf(set)) - 1 }

func replicasOf(set *appsv1.StatefulSet) int32 {
	if set.Spec.Replicas == nil {
		return 1
	}
	return *set.Spec.Replicas
}

func inOrdinalRange(pod *corev1.Pod, set *appsv1.StatefulSet) bool {
	o := ordinalOf(pod)
	return o >= startOrdinal(set) && o <= endOrdinal(set)
}

// IsMemberOf tells whether the pod's name makes it one of the set's.
func IsMemberOf(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, _ := ParentAndOrdinal(pod.Name)
	return parent == set.Name
}

// identityMatches is upstream's: name, namespace and the pod-name and pod-index labels.
func identityMatches(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, o := ParentAndOrdinal(pod.Name)
	return o >= 0 && set.Name == parent && pod.Name == PodName(set, o) && pod.Namespace == set.Namespace &&
		pod.Labels[appsv1.StatefulSetPodNameLabel] == pod.Name && pod.Labels[appsv1.PodIndexLabel] == strconv.Itoa(o)
}

// storageMatches tells whether every claim template is mounted from the pod's own claim.
func storageMatches(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	o := ordinalOf(pod)
	if o < 0 {
		return false
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	for i := range set.Spec.VolumeClaimTemplates {
		claim := &set.Spec.VolumeClaimTemplates[i]
		v, ok := volumes[claim.Name]
		if !ok || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != ClaimName(set, claim, o) {
			return false
		}
	}
	return true
}

// updateIdentity sets the name, namespace and identity labels from the pod's ordinal.
func updateIdentity(set *appsv1.StatefulSet, pod *corev1.Pod) {
	o := ordinalOf(pod)
	pod.Name, pod.Namespace = PodName(set, o), set.Namespace
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[appsv1.StatefulSetPodNameLabel] = pod.Name
	pod.Labels[appsv1.PodIndexLabel] = strconv.Itoa(o)
}

// updateStorage mounts the pod's claims in place of any template volume of the same name.
func updateStorage(set *appsv1.StatefulSet, pod *corev1.Pod) {
	claims := Claims(set, pod)
	var volumes []corev1.Volume
	for _, v := range pod.Spec.Volumes {
		if _, ok := claims[v.Name]; !ok {
			volumes = append(volumes, v)
		}
	}
	for i := range set.Spec.VolumeClaimTemplates {
		name := set.Spec.VolumeClaimTemplates[i].Name
		volumes = append(volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claims[name].Name}}})
	}
	pod.Spec.Volumes = volumes
}

// Claims returns the claims of the pod's ordinal by template name: the template with its name,
// the set's namespace and the selector's matchLabels added to its labels.
func Claims(set *appsv1.StatefulSet, pod *corev1.Pod) map[string]corev1.PersistentVolumeClaim {
	o := ordinalOf(pod)
	claims := make(map[string]corev1.PersistentVolumeClaim, len(set.Spec.VolumeClaimTemplates))
	for i := range set.Spec.VolumeClaimTemplates {
		claim := set.Spec.VolumeClaimTemplates[i].DeepCopy()
		claim.Name, claim.Namespace = ClaimName(set, claim, o), set.Namespace
		if set.Spec.Selector != nil {
			if claim.Labels == nil {
				claim.Labels = map[string]string{}
			}
			for k, v := range set.Spec.Selector.MatchLabels {
				claim.Labels[k] = v
			}
		}
		claims[set.Spec.VolumeClaimTemplates[i].Name] = *claim
	}
	return claims
}

// NewPod is the set's pod of an ordinal: the template's labels, annotations, finalizers and
// spec, a controller reference, hostname <set>-<ordinal> and subdomain spec.serviceName (so the
// headless Service gives it a DNS name), the identity labels and the claims' volumes.
func NewPod(set *appsv1.StatefulSet, ordinal int) *corev1.Pod {
	t := set.Spec.Template.DeepCopy()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            PodName(set, ordinal),
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(set, controllerKind)},
		},
		Spec: t.Spec,
	}
	updateIdentity(set, pod)
	pod.Spec.Hostname, pod.Spec.Subdomain = pod.Name, set.Spec.ServiceName
	updateStorage(set, pod)
	return pod
}

// newVersionedPod is the pod of an ordinal at the current revision when the rolling update's
// partition keeps it there, else at the update revision.
func newVersionedPod(currentSet, updateSet *appsv1.StatefulSet, currentRevision, updateRevision string, ordinal int) *corev1.Pod {
	if currentSet.Spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType {
		ru := currentSet.Spec.UpdateStrategy.RollingUpdate
		if (ru == nil && ordinal < startOrdinal(currentSet)+int(currentSet.Status.CurrentReplicas)) ||
			(ru != nil && ru.Partition != nil && ordinal < startOrdinal(currentSet)+int(*ru.Partition)) {
			pod := NewPod(currentSet, ordinal)
			setRevision(pod, currentRevision)
			return pod
		}
	}
	pod := NewPod(updateSet, ordinal)
	setRevision(pod, updateRevision)
	return pod
}

func setRevision(pod *corev1.Pod, revision string) {
	if revision == "" {
		return
	}
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[appsv1.ControllerRevisionHashLabelKey] = revision
}

func revisionOf(pod *corev1.Pod) string { return pod.Labels[appsv1.ControllerRevisionHashLabelKey] }

// Patch is what a StatefulSet's ControllerRevision stores: a strategic merge patch replacing
// spec.template, as upstream's getPatch.
func Patch(set *appsv1.StatefulSet) ([]byte, error) { return history.TemplatePatch(set) }

// NewRevision is the revision of the set's template with the given number, named after its
// hash and collisionCount, carrying the set's annotations.
func NewRevision(set *appsv1.StatefulSet, revision int64, collisionCount *int32) (*appsv1.ControllerRevision, error) {
	patch, err := Patch(set)
	if err != nil {
		return nil, err
	}
	cr := history.NewControllerRevision(set, controllerKind, set.Spec.Template.Labels, runtime.RawExtension{Raw: patch}, revision, collisionCount)
	if cr.Annotations == nil {
		cr.Annotations = map[string]string{}
	}
	for k, v := range set.Annotations {
		cr.Annotations[k] = v
	}
	return cr, nil
}

// ApplyRevision returns the set with the revision's template.
func ApplyRevision(set *appsv1.StatefulSet, revision *appsv1.ControllerRevision) (*appsv1.StatefulSet, error) {
	orig, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("encoding statefulset: %w", err)
	}
	patched, err := strategicpatch.StrategicMergePatch(orig, revision.Data.Raw, &appsv1.StatefulSet{})
	if err != nil {
		return nil, fmt.Errorf("applying revision %s: %w", revision.Name, err)
	}
	out := &appsv1.StatefulSet{}
	if err := json.Unmarshal(patched, out); err != nil {
		return nil, fmt.Errorf("decoding revision %s: %w", revision.Name, err)
	}
	return out, nil
}
