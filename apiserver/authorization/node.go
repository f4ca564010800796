package authorization

import (
	"context"
	"fmt"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

const (
	// NodeUserPrefix starts every node's user name: system:node:<name>.
	NodeUserPrefix = "system:node:"
	// NodesGroup is the group of every node credential.
	NodesGroup      = "system:nodes"
	podsByNodeIndex = "skiff-node-authorizer-pods-by-node"
	// ingressesBySecretIndex indexes Ingresses by the <namespace>/<name> of their TLS Secrets.
	ingressesBySecretIndex = "skiff-node-authorizer-ingresses-by-secret"
)

// NodeName returns the node a user is a credential of, as upstream's node identifier: user
// system:node:<name> in group system:nodes.
func NodeName(u user.Info) (string, bool) {
	if u == nil || !strings.HasPrefix(u.GetName(), NodeUserPrefix) {
		return "", false
	}
	for _, g := range u.GetGroups() {
		if g == NodesGroup {
			return strings.TrimPrefix(u.GetName(), NodeUserPrefix), true
		}
	}
	return "", false
}

// Node is the node authorizer, after upstream's: a node reads the secrets, configmaps and
// service accounts that the pods bound to it reference (and requests tokens for those service
// accounts), writes only its own Lease in kube-node-lease, and otherwise gets the rules of
// upstream's system:node role (plus the service and endpoint reads of Skiff's node proxy).
// Which node a pod is bound to comes from a pod informer indexed by spec.nodeName: the graph
// of pod → secret/configmap/serviceaccount edges is walked per request over the node's pods.
// Skiff adds one edge of its own: every node runs the built-in ingress controller, so every
// node may read a Secret that an Ingress of its namespace names in spec.tls[].secretName (an
// Ingress informer indexed by those Secrets).
type Node struct {
	pods      cache.Indexer
	ingresses cache.Indexer
	synced    cache.InformerSynced
}

// NewNode registers a pod informer indexed by node and an Ingress informer indexed by TLS
// Secret with factory (start the factory afterwards).
func NewNode(factory informers.SharedInformerFactory) (*Node, error) {
	inf := factory.Core().V1().Pods().Informer()
	if err := inf.AddIndexers(cache.Indexers{podsByNodeIndex: podNodeIndex}); err != nil {
		return nil, fmt.Errorf("node authorizer pod index: %w", err)
	}
	ingInf := factory.Networking().V1().Ingresses().Informer()
	if err := ingInf.AddIndexers(cache.Indexers{ingressesBySecretIndex: ingressSecretIndex}); err != nil {
		return nil, fmt.Errorf("node authorizer ingress index: %w", err)
	}
	return &Node{pods: inf.GetIndexer(), ingresses: ingInf.GetIndexer(), synced: inf.HasSynced}, nil
}

func ingressSecretIndex(obj any) ([]string, error) {
	ing, ok := obj.(*networkingv1.Ingress)
	if !ok {
		return nil, nil
	}
	var out []string
	for _, t := range ing.Spec.TLS {
		if t.SecretName != "" {
			out = append(out, ing.Namespace+"/"+t.SecretName)
		}
	}
	return out, nil
}

// ingressReferences tells whether an Ingress names the Secret for TLS.
func (n *Node) ingressReferences(namespace, name string) bool {
	if n.ingresses == nil {
		return false
	}
	objs, err := n.ingresses.ByIndex(ingressesBySecretIndex, namespace+"/"+name)
	return err == nil && len(objs) > 0
}

func podNodeIndex(obj any) ([]string, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok || p.Spec.NodeName == "" {
		return nil, nil
	}
	return []string{p.Spec.NodeName}, nil
}

var (
	_ authorizer.Authorizer   = &Node{}
	_ authorizer.RuleResolver = &Node{}
)

// Authorize implements authorizer.Authorizer.
func (n *Node) Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	node, ok := NodeName(a.GetUser())
	if !ok {
		return authorizer.DecisionNoOpinion, "", nil
	}
	if node == "" {
		return authorizer.DecisionNoOpinion, "unknown node", nil
	}
	if a.IsResourceRequest() && a.GetAPIGroup() == "" {
		switch a.GetResource() {
		case "secrets", "configmaps":
			return n.authorizeReferenced(node, a, "get", "list", "watch")
		case "serviceaccounts":
			if a.GetSubresource() == "token" {
				return n.authorizeReferenced(node, a, "create")
			}
			if a.GetSubresource() == "" {
				return n.authorizeReferenced(node, a, "get", "list", "watch")
			}
		}
	}
	if a.IsResourceRequest() && a.GetAPIGroup() == coordinationv1.GroupName && a.GetResource() == "leases" {
		return authorizeLease(node, a)
	}
	if RulesAllow(a, nodeRules...) {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

// authorizeReferenced allows verbs on a named object that a pod bound to node references.
func (n *Node) authorizeReferenced(node string, a authorizer.Attributes, verbs ...string) (authorizer.Decision, string, error) {
	if !contains(verbs, a.GetVerb()) {
		return authorizer.DecisionNoOpinion, fmt.Sprintf("can only %s %s", strings.Join(verbs, "/"), a.GetResource()), nil
	}
	if a.GetName() == "" {
		return authorizer.DecisionNoOpinion, "No Object name found", nil
	}
	if n.references(node, a.GetResource(), a.GetNamespace(), a.GetName()) {
		return authorizer.DecisionAllow, "", nil
	}
	if a.GetResource() == "secrets" && n.ingressReferences(a.GetNamespace(), a.GetName()) {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, fmt.Sprintf("no relationship found between node '%s' and this object", node), nil
}

// references tells whether a pod bound to node references the object.
func (n *Node) references(node, resource, namespace, name string) bool {
	objs, err := n.pods.ByIndex(podsByNodeIndex, node)
	if err != nil {
		return false
	}
	for _, o := range objs {
		p := o.(*corev1.Pod)
		if p.Namespace != namespace {
			continue
		}
		switch resource {
		case "secrets":
			if contains(PodSecretNames(p), name) {
				return true
			}
		case "configmaps":
			if contains(PodConfigMapNames(p), name) {
				return true
			}
		case "serviceaccounts":
			sa := p.Spec.ServiceAccountName
			if sa == "" {
				sa = "default"
			}
			if sa == name {
				return true
			}
		}
	}
	return false
}

// authorizeLease lets a node handle only its own Lease in kube-node-lease.
func authorizeLease(node string, a authorizer.Attributes) (authorizer.Decision, string, error) {
	switch a.GetVerb() {
	case "get", "create", "update", "patch", "delete":
	default:
		return authorizer.DecisionNoOpinion, "can only get, create, update, patch, or delete a node lease", nil
	}
	if a.GetNamespace() != corev1.NamespaceNodeLease {
		return authorizer.DecisionNoOpinion, fmt.Sprintf("can only access leases in the %q system namespace", corev1.NamespaceNodeLease), nil
	}
	if a.GetVerb() != "create" && a.GetName() != node {
		return authorizer.DecisionNoOpinion, "can only access node lease with the same name as the requesting node", nil
	}
	return authorizer.DecisionAllow, "", nil
}

// RulesFor implements authorizer.RuleResolver: the static node rules (the per-object grants of
// the graph are not listed, so the answer is incomplete, as upstream's).
func (n *Node) RulesFor(ctx context.Context, u user.Info, namespace string) ([]authorizer.ResourceRuleInfo, []authorizer.NonResourceRuleInfo, bool, error) {
	if _, ok := NodeName(u); !ok {
		return nil, nil, false, nil
	}
	var resource []authorizer.ResourceRuleInfo
	var nonResource []authorizer.NonResourceRuleInfo
	for _, r := range NodeRules() {
		if len(r.Resources) > 0 {
			resource = append(resource, &authorizer.DefaultResourceRuleInfo{Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames})
		} else {
			nonResource = append(nonResource, &authorizer.DefaultNonResourceRuleInfo{Verbs: r.Verbs, NonResourceURLs: r.NonResourceURLs})
		}
	}
	return resource, nonResource, true, nil
}

// ConditionsAwareAuthorize implements authorizer.Authorizer: node decisions are unconditional.
func (n *Node) ConditionsAwareAuthorize(ctx context.Context, a authorizer.Attributes) authorizer.ConditionsAwareDecision {
	return authorizer.ConditionsAwareDecisionFromParts(n.Authorize(ctx, a))
}

// EvaluateConditions implements authorizer.Authorizer.
func (n *Node) EvaluateConditions(context.Context, authorizer.ConditionsAwareDecision, authorizer.ConditionsData) (authorizer.Decision, string, error) {
	return authorizer.DecisionDeny, "", authorizer.ErrorConditionEvaluationNotSupported
}

// PodSecretNames lists the secrets a pod references: image pull secrets, secret and projected
// volumes, env and envFrom of every container.
func PodSecretNames(p *corev1.Pod) []string {
	var out []string
	for _, s := range p.Spec.ImagePullSecrets {
		out = append(out, s.Name)
	}
	for _, v := range p.Spec.Volumes {
		if v.Secret != nil {
			out = append(out, v.Secret.SecretName)
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					out = append(out, s.Secret.Name)
				}
			}
		}
	}
	visitContainers(p, func(c *corev1.Container) {
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				out = append(out, e.SecretRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				out = append(out, e.ValueFrom.SecretKeyRef.Name)
			}
		}
	})
	return out
}

// PodConfigMapNames lists the configmaps a pod references: configMap and projected volumes,
// env and envFrom of every container.
func PodConfigMapNames(p *corev1.Pod) []string {
	var out []string
	for _, v := range p.Spec.Volumes {
		if v.ConfigMap != nil {
			out = append(out, v.ConfigMap.Name)
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					out = append(out, s.ConfigMap.Name)
				}
			}
		}
	}
	visitContainers(p, func(c *corev1.Container) {
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				out = append(out, e.ConfigMapRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
				out = append(out, e.ValueFrom.ConfigMapKeyRef.Name)
			}
		}
	})
	return out
}

func visitContainers(p *corev1.Pod, f func(*corev1.Container)) {
	for i := range p.Spec.InitContainers {
		f(&p.Spec.InitContainers[i])
	}
	for i := range p.Spec.Containers {
		f(&p.Spec.Containers[i])
	}
	for i := range p.Spec.EphemeralContainers {
		c := corev1.Container(p.Spec.EphemeralContainers[i].EphemeralContainerCommon)
		f(&c)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// NodeRules are the rules of upstream's system:node ClusterRole for the kinds Skiff serves,
// plus the endpointslice and node reads of Skiff's node proxy (upstream's system:node-proxier),
// the NetworkPolicy and namespace reads of its NetworkPolicy enforcer, what the node's
// local-path provisioner needs and the reads of its ingress controller.
func NodeRules() []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, len(nodeRules))
	for i := range nodeRules {
		nodeRules[i].DeepCopyInto(&out[i])
	}
	return out
}

// nodeRules are NodeRules, built once: the authorizer reads them for most of a node's requests
// besides their Lease renewals.
var nodeRules = buildNodeRules()

func buildNodeRules() []rbacv1.PolicyRule {
	read := []string{"get", "list", "watch"}
	return []rbacv1.PolicyRule{
		{Verbs: []string{"create"}, APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}},
		{Verbs: []string{"create"}, APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews", "localsubjectaccessreviews"}},
		{Verbs: read, APIGroups: []string{""}, Resources: []string{"services"}},
		{Verbs: []string{"create", "get", "list", "watch", "patch", "update"}, APIGroups: []string{""}, Resources: []string{"nodes"}},
		{Verbs: []string{"patch", "update"}, APIGroups: []string{""}, Resources: []string{"nodes/status"}},
		{Verbs: []string{"create", "patch", "update"}, APIGroups: []string{"", "events.k8s.io"}, Resources: []string{"events"}},
		{Verbs: read, APIGroups: []string{""}, Resources: []string{"pods"}},
		{Verbs: []string{"create", "delete"}, APIGroups: []string{""}, Resources: []string{"pods"}},
		{Verbs: []string{"patch", "update"}, APIGroups: []string{""}, Resources: []string{"pods/status"}},
		{Verbs: []string{"create"}, APIGroups: []string{""}, Resources: []string{"pods/eviction"}},
		{Verbs: read, APIGroups: []string{""}, Resources: []string{"configmaps", "secrets"}},
		// The agent is its node's skiff.dev/local-path provisioner (nodeagent/localpath): it
		// watches claims, creates and deletes the volumes it provisions and reads their classes,
		// the rights external-provisioner's node deployment and local-static-provisioner's
		// DaemonSet hold on every node (upstream's system:node only gets claims and volumes).
		{Verbs: read, APIGroups: []string{""}, Resources: []string{"persistentvolumeclaims"}},
		{Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}, APIGroups: []string{""}, Resources: []string{"persistentvolumes"}},
		{Verbs: read, APIGroups: []string{"storage.k8s.io"}, Resources: []string{"storageclasses"}},
		{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"endpoints"}},
		{Verbs: []string{"create", "get", "list", "watch"}, APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests"}},
		{Verbs: []string{"get", "create", "update", "patch", "delete"}, APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}},
		{Verbs: []string{"create"}, APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}},
		{Verbs: read, APIGroups: []string{"node.k8s.io"}, Resources: []string{"runtimeclasses"}},
		// Skiff's node proxy (upstream's system:node-proxier).
		{Verbs: []string{"list", "watch"}, APIGroups: []string{""}, Resources: []string{"endpoints", "services"}},
		{Verbs: read, APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}},
		// Skiff's NetworkPolicy enforcer (nodeagent/netpol), as upstream's policy agents.
		{Verbs: read, APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}},
		{Verbs: read, APIGroups: []string{""}, Resources: []string{"namespaces"}},
		// Skiff's built-in ingress controller in every agent (nodeagent/ingress); the Secrets of
		// spec.tls come through the Ingress edge of the graph.
		{Verbs: read, APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses", "ingressclasses"}},
		// Skiff's agents carry out the Faults that target their node.
		{Verbs: read, APIGroups: []string{"chaos.skiff.dev"}, Resources: []string{"faults"}},
		// ... and record on a PodKill Fault's status when they killed its pods' containers.
		{Verbs: []string{"update", "patch"}, APIGroups: []string{"chaos.skiff.dev"}, Resources: []string{"faults/status"}},
	}
}
