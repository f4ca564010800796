package authorization

import (
	"context"
	"fmt"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apiserver/pkg/admission"
)

// NodeRestrictionName is upstream's plugin name.
const NodeRestrictionName = "NodeRestriction"

// mirrorPodAnnotation marks the only pods a node may create (static pods' mirrors).
const mirrorPodAnnotation = "kubernetes.io/config.mirror"

// NodeRestriction is upstream's admission plugin of that name: a node's credential may modify
// only its own Node and Lease, create only mirror pods bound to itself, delete or write the
// status of only the pods bound to it, and write no other pod subresource but eviction.
type NodeRestriction struct {
	*admission.Handler
}

var _ admission.ValidationInterface = &NodeRestriction{}

// NewNodeRestriction returns the plugin.
func NewNodeRestriction() *NodeRestriction {
	return &NodeRestriction{Handler: admission.NewHandler(admission.Create, admission.Update, admission.Delete)}
}

// Validate refuses a node's writes to objects that are not its own.
func (p *NodeRestriction) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	node, ok := NodeName(a.GetUserInfo())
	if !ok {
		return nil
	}
	gr := a.GetResource().GroupResource()
	switch {
	case gr == corev1.Resource("nodes"):
		name := a.GetName()
		if a.GetOperation() == admission.Create {
			if m, err := meta.Accessor(a.GetObject()); err == nil {
				name = m.GetName()
			}
		}
		if name != node {
			return admission.NewForbidden(a, fmt.Errorf("node %q is not allowed to modify node %q", node, name))
		}
	case gr == corev1.Resource("pods"):
		return p.admitPod(node, a)
	case gr == coordinationv1.Resource("leases"):
		name := a.GetName()
		if a.GetOperation() == admission.Create {
			if m, err := meta.Accessor(a.GetObject()); err == nil {
				name = m.GetName()
			}
		}
		if a.GetNamespace() != corev1.NamespaceNodeLease {
			return admission.NewForbidden(a, fmt.Errorf("can only access leases in the %q system namespace", corev1.NamespaceNodeLease))
		}
		if name != node {
			return admission.NewForbidden(a, fmt.Errorf("can only access node lease with the same name as the requesting node"))
		}
	}
	return nil
}

func (p *NodeRestriction) admitPod(node string, a admission.Attributes) error {
	switch a.GetSubresource() {
	case "":
		switch a.GetOperation() {
		case admission.Create:
			pod, ok := a.GetObject().(*corev1.Pod)
			if !ok {
				return nil
			}
			if _, mirror := pod.Annotations[mirrorPodAnnotation]; !mirror {
				return admission.NewForbidden(a, fmt.Errorf("pod does not have %q annotation, node %q can only create mirror pods", mirrorPodAnnotation, node))
			}
			if pod.Spec.NodeName != node {
				return admission.NewForbidden(a, fmt.Errorf("node %q can only create pods with spec.nodeName set to itself", node))
			}
		case admission.Delete:
			if pod, ok := a.GetOldObject().(*corev1.Pod); ok && pod.Spec.NodeName != node {
				return admission.NewForbidden(a, fmt.Errorf("node %q can only delete pods with spec.nodeName set to itself", node))
			}
		case admission.Update:
			return admission.NewForbidden(a, fmt.Errorf("node %q can only update pod status", node))
		}
	case "status":
		if pod, ok := a.GetOldObject().(*corev1.Pod); ok && pod.Spec.NodeName != node {
			return admission.NewForbidden(a, fmt.Errorf("node %q can only update pod status for pods with spec.nodeName set to itself", node))
		}
	case "eviction":
	default:
		// upstream: no other subresource (ephemeralcontainers, binding, ...) is a node's to write.
		return admission.NewForbidden(a, fmt.Errorf("unexpected pod subresource %q, only 'status' and 'eviction' are allowed", a.GetSubresource()))
	}
	return nil
}
