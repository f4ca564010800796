package volumes

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// File is one file of a configMap, secret, downwardAPI or projected volume.
type File struct {
	Data []byte
	Mode int32
}

func defaultMode(m *int32) int32 {
	if m == nil {
		return corev1.ConfigMapVolumeSourceDefaultMode // 0644, the same for secrets and downwardAPI
	}
	return *m
}

// ConfigMapFiles is upstream's configmap MakePayload: every key (data and binaryData) as a file
// with defaultMode, or only the items, with their paths and modes. cm nil means the ConfigMap is
// missing and optional (an empty volume).
func ConfigMapFiles(cm *corev1.ConfigMap, items []corev1.KeyToPath, mode *int32, optional bool) (map[string]File, error) {
	out := map[string]File{}
	if cm == nil {
		return out, nil
	}
	dm := defaultMode(mode)
	if len(items) == 0 {
		for k, v := range cm.Data {
			out[k] = File{Data: []byte(v), Mode: dm}
		}
		for k, v := range cm.BinaryData {
			out[k] = File{Data: v, Mode: dm}
		}
		return out, nil
	}
	for _, it := range items {
		var data []byte
		if v, ok := cm.Data[it.Key]; ok {
			data = []byte(v)
		} else if v, ok := cm.BinaryData[it.Key]; ok {
			data = v
		} else {
			if optional {
				continue
			}
			return nil, fmt.Errorf("configmap references non-existent config key: %s", it.Key)
		}
		m := dm
		if it.Mode != nil {
			m = *it.Mode
		}
		out[it.Path] = File{Data: data, Mode: m}
	}
	return out, nil
}

// SecretFiles is upstream's secret MakePayload.
func SecretFiles(s *corev1.Secret, items []corev1.KeyToPath, mode *int32, optional bool) (map[string]File, error) {
	out := map[string]File{}
	if s == nil {
		return out, nil
	}
	dm := defaultMode(mode)
	if len(items) == 0 {
		for k, v := range s.Data {
			out[k] = File{Data: v, Mode: dm}
		}
		return out, nil
	}
	for _, it := range items {
		v, ok := s.Data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf("references non-existent secret key: %s", it.Key)
		}
		m := dm
		if it.Mode != nil {
			m = *it.Mode
		}
		out[it.Path] = File{Data: v, Mode: m}
	}
	return out, nil
}

// DownwardAPIFiles is upstream's downwardapi CollectData.
func DownwardAPIFiles(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, mode *int32, nodeAllocatable corev1.ResourceList) (map[string]File, error) {
	out := map[string]File{}
	dm := defaultMode(mode)
	var errs []string
	for _, it := range items {
		m := dm
		if it.Mode != nil {
			m = *it.Mode
		}
		var v string
		var err error
		switch {
		case it.FieldRef != nil:
			v, err = FieldPathValue(pod, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			v, err = ResourceFieldValue(pod, it.ResourceFieldRef, nodeAllocatable)
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("unable to extract field for %s: %v", it.Path, err))
			continue
		}
		out[it.Path] = File{Data: []byte(v), Mode: m}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out, nil
}

// FormatMap is upstream's fieldpath.FormatMap: sorted k="v" lines.
func FormatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	return b.String()
}

// FieldPathValue is upstream's fieldpath.ExtractFieldPathAsString for pods: metadata.name,
// namespace, uid, labels, annotations (whole or ['key']).
func FieldPathValue(pod *corev1.Pod, path string) (string, error) {
	if p, key, ok := subscript(path); ok {
		switch p {
		case "metadata.annotations":
			return pod.Annotations[key], nil
		case "metadata.labels":
			return pod.Labels[key], nil
		}
		return "", fmt.Errorf("fieldPath %q does not support subscript", p)
	}
	switch path {
	case "metadata.annotations":
		return FormatMap(pod.Annotations), nil
	case "metadata.labels":
		return FormatMap(pod.Labels), nil
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	}
	return "", fmt.Errorf("unsupported fieldPath: %v", path)
}

func subscript(path string) (string, string, bool) {
	i := strings.Index(path, "[")
	if i < 0 || !strings.HasSuffix(path, "]") {
		return "", "", false
	}
	key := path[i+1 : len(path)-1]
	if len(key) >= 2 && (key[0] == '\'' || key[0] == '"') && key[len(key)-1] == key[0] {
		key = key[1 : len(key)-1]
	}
	return path[:i], key, true
}

// ResourceFieldValue is upstream's resource.ExtractResourceValueByContainerName with the
// node's allocatable standing in for unset limits (MergeContainerResourceLimits).
func ResourceFieldValue(pod *corev1.Pod, ref *corev1.ResourceFieldSelector, nodeAllocatable corev1.ResourceList) (string, error) {
	var c *corev1.Container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == ref.ContainerName {
			c = &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == ref.ContainerName {
			c = &pod.Spec.InitContainers[i]
		}
	}
	if c == nil {
		return "", fmt.Errorf("container %s not found", ref.ContainerName)
	}
	return ContainerResourceValue(c, ref, nodeAllocatable)
}

// ContainerResourceValue extracts ref.Resource of c divided by the divisor, rounded up.
func ContainerResourceValue(c *corev1.Container, ref *corev1.ResourceFieldSelector, nodeAllocatable corev1.ResourceList) (string, error) {
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	var q resource.Quantity
	switch ref.Resource {
	case "limits.cpu", "limits.memory", "limits.ephemeral-storage":
		name := corev1.ResourceName(strings.TrimPrefix(ref.Resource, "limits."))
		if v, ok := c.Resources.Limits[name]; ok {
			q = v
		} else {
			q = nodeAllocatable[name]
		}
	case "requests.cpu", "requests.memory", "requests.ephemeral-storage":
		q = c.Resources.Requests[corev1.ResourceName(strings.TrimPrefix(ref.Resource, "requests."))]
	default:
		return "", fmt.Errorf("unsupported container resource : %v", ref.Resource)
	}
	if strings.HasSuffix(ref.Resource, ".cpu") {
		v := (q.MilliValue() + divisor.MilliValue() - 1) / divisor.MilliValue()
		if ref.Resource == "requests.cpu" && q.IsZero() {
			v = 0
		}
		return fmt.Sprint(v), nil
	}
	d := divisor.Value()
	return fmt.Sprint((q.Value() + d - 1) / d), nil
}
