package admission

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiserver/pkg/admission"
)

// DefaultTolerationSecondsName is upstream's plugin name.
const DefaultTolerationSecondsName = "DefaultTolerationSeconds"

// DefaultTolerationSeconds is how long a pod stays on a not-ready or unreachable node by default.
const DefaultTolerationSeconds int64 = 300

// DefaultTolerations adds, to every new pod, NoExecute tolerations of node.kubernetes.io/not-ready
// and node.kubernetes.io/unreachable for 300 s unless the pod already tolerates them, so node
// lifecycle evicts pods five minutes after their node is lost, as on Kubernetes.
type DefaultTolerations struct {
	*admission.Handler
	// Seconds of the not-ready toleration; UnreachableSeconds of the unreachable one (upstream's
	// --default-not-ready-toleration-seconds and --default-unreachable-toleration-seconds).
	Seconds            int64
	UnreachableSeconds int64
}

var _ admission.MutationInterface = &DefaultTolerations{}

// NewDefaultTolerations returns the plugin with upstream's 300 s.
func NewDefaultTolerations() *DefaultTolerations {
	return NewDefaultTolerationsWith(DefaultTolerationSeconds, DefaultTolerationSeconds)
}

// NewDefaultTolerationsWith returns the plugin with the given not-ready and unreachable seconds.
func NewDefaultTolerationsWith(notReady, unreachable int64) *DefaultTolerations {
	return &DefaultTolerations{Handler: admission.NewHandler(admission.Create, admission.Update), Seconds: notReady, UnreachableSeconds: unreachable}
}

// Admit adds the missing tolerations to pods being created or updated (upstream handles both:
// an update that replaces the tolerations keeps the defaults, so it only adds tolerations).
func (p *DefaultTolerations) Admit(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != corev1.Resource("pods") || a.GetSubresource() != "" {
		return nil
	}
	pod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return nil
	}
	AddDefaultTolerationsFor(&pod.Spec, p.Seconds, p.UnreachableSeconds)
	return nil
}

// AddDefaultTolerations adds the not-ready and unreachable NoExecute tolerations when absent.
func AddDefaultTolerations(spec *corev1.PodSpec, seconds int64) {
	AddDefaultTolerationsFor(spec, seconds, seconds)
}

// AddDefaultTolerationsFor adds the not-ready and unreachable NoExecute tolerations when absent,
// each with its own seconds.
func AddDefaultTolerationsFor(spec *corev1.PodSpec, notReady, unreachable int64) {
	for _, d := range []struct {
		key     string
		seconds int64
	}{{corev1.TaintNodeNotReady, notReady}, {corev1.TaintNodeUnreachable, unreachable}} {
		key := d.key
		if tolerates(spec.Tolerations, key) {
			continue
		}
		s := d.seconds
		spec.Tolerations = append(spec.Tolerations, corev1.Toleration{
			Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &s,
		})
	}
}

// tolerates reports whether a toleration already covers key with effect NoExecute.
func tolerates(tolerations []corev1.Toleration, key string) bool {
	for _, t := range tolerations {
		if (t.Key == key || (t.Key == "" && t.Operator == corev1.TolerationOpExists)) &&
			(t.Effect == corev1.TaintEffectNoExecute || t.Effect == "") {
			return true
		}
	}
	return false
}
