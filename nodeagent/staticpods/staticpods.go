package staticpods

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apis"
	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/apis/validation"
)

// The annotations of static pods and their mirrors, as the kubelet's.
const (
	ConfigHashAnnotation   = "kubernetes.io/config.hash"
	ConfigSourceAnnotation = "kubernetes.io/config.source"
	ConfigMirrorAnnotation = corev1.MirrorPodAnnotationKey
	// SourceFile is the config.source of pods read from the manifest directory.
	SourceFile = "file"
)

var codecs = func() serializer.CodecFactory {
	s := runtime.NewScheme()
	if err := apis.AddToScheme(s); err != nil {
		panic(err)
	}
	return serializer.NewCodecFactory(s)
}()

// Load reads every manifest of dir. A file that does not hold a valid pod is reported in errs
// and left out; the others are returned sorted by name.
func Load(dir, nodeName string) (pods []*corev1.Pod, errs []error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, []error{fmt.Errorf("reading the pod manifest directory: %w", err)}
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !slices.Contains([]string{".yaml", ".yml", ".json"}, filepath.Ext(name)) {
			continue
		}
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %s: %w", path, err))
			continue
		}
		pod, err := FromManifest(b, path, nodeName)
		if err != nil {
			errs = append(errs, fmt.Errorf("static pod %s: %w", path, err))
			continue
		}
		pods = append(pods, pod)
	}
	slices.SortFunc(pods, func(a, b *corev1.Pod) int { return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name) })
	return pods, errs
}

// FromManifest decodes one manifest (YAML or JSON) into the node's static pod, as the
// kubelet's tryDecodeSinglePod and applyDefaults.
func FromManifest(data []byte, source, nodeName string) (*corev1.Pod, error) {
	obj, gvk, err := codecs.UniversalDecoder(corev1.SchemeGroupVersion).Decode(data, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, fmt.Errorf("want a v1 Pod, got %v", gvk)
	}
	if pod.UID == "" {
		b, err := json.Marshal(pod)
		if err != nil {
			return nil, err
		}
		h := md5.New()
		h.Write(b)
		fmt.Fprintf(h, "host:%s", nodeName)
		fmt.Fprintf(h, "file:%s", source)
		pod.UID = types.UID(hex.EncodeToString(h.Sum(nil)))
	}
	pod.Name = pod.Name + "-" + strings.ToLower(nodeName)
	if pod.Namespace == "" {
		pod.Namespace = metav1.NamespaceDefault
	}
	pod.Spec.NodeName = nodeName
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[ConfigHashAnnotation] = string(pod.UID)
	pod.Annotations[ConfigSourceAnnotation] = SourceFile
	tolerateNoExecute(pod)
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: helper.QOSClass(&pod.Spec)}
	if errs := validation.ValidateCreate(pod); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return pod, nil
}

// tolerateNoExecute adds the toleration of every NoExecute taint, so that node problems do not
// evict a static pod (upstream's AddOrUpdateTolerationInPod).
func tolerateNoExecute(pod *corev1.Pod) {
	all := corev1.Toleration{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}
	for _, t := range pod.Spec.Tolerations {
		if t.MatchToleration(&all) {
			return
		}
	}
	pod.Spec.Tolerations = append(pod.Spec.Tolerations, all)
}

// IsStatic reports whether a pod comes from the manifest directory.
func IsStatic(pod *corev1.Pod) bool { return pod.Annotations[ConfigSourceAnnotation] == SourceFile }

// IsMirror reports whether a pod is a static pod's mirror.
func IsMirror(pod *corev1.Pod) bool {
	_, ok := pod.Annotations[ConfigMirrorAnnotation]
	return ok
}

// Mirror is the API copy of a static pod: no UID nor resourceVersion, the mirror annotation
// with the static pod's hash, owned by its Node (upstream's mirror client).
func Mirror(static *corev1.Pod, node *corev1.Node) *corev1.Pod {
	m := static.DeepCopy()
	m.UID, m.ResourceVersion, m.Status = "", "", corev1.PodStatus{}
	m.Annotations[ConfigMirrorAnnotation] = static.Annotations[ConfigHashAnnotation]
	if node != nil {
		m.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID, Controller: ptr.To(true)}}
	}
	return m
}

// MirrorCurrent reports whether a mirror in the API is the one of static: the same hash and not
// being deleted.
func MirrorCurrent(mirror, static *corev1.Pod) bool {
	return mirror.DeletionTimestamp == nil && mirror.Annotations[ConfigMirrorAnnotation] == static.Annotations[ConfigHashAnnotation]
}
