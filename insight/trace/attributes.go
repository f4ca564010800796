package trace

import (
	"strings"

	"go.opentelemetry.io/otel/attribute"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The attributes that tie spans to objects and components.
const (
	AttrUID             = "k8s.object.uid"
	AttrKind            = "k8s.object.kind"
	AttrNamespace       = "k8s.object.namespace"
	AttrName            = "k8s.object.name"
	AttrResourceVersion = "k8s.object.resource_version"
	// AttrOwnerUIDs lists the UIDs of the object's owners, comma-separated.
	AttrOwnerUIDs = "k8s.object.owner_uids"
	// AttrRelatedUIDs lists other objects the span's work concerns (the pods of an
	// EndpointSlice write, of a proxy sync), comma-separated.
	AttrRelatedUIDs = "skiff.related_uids"
	// AttrEffectUIDs lists the objects the span's work made or acted on whose own stories
	// continue it (the pods a ReplicaSet created to replace others, the pods a taint eviction
	// deletes, the node a Fault silences), comma-separated: a story that reaches the span
	// through its object or its causes goes on with them.
	AttrEffectUIDs = "skiff.effect_uids"
	// AttrCauseUIDs lists the objects whose fate caused the span's work (the pods a ReplicaSet
	// replaces), comma-separated: a story that reaches the span through its effects goes back
	// to them.
	AttrCauseUIDs = "skiff.cause_uids"
	AttrComponent = "skiff.component"
	AttrCaller    = "skiff.caller"
	// AttrNode is the node whose component recorded the span (the service proxy's).
	AttrNode = "k8s.node.name"
	// AttrWatchEvent is the type of a delivered watch event: ADDED, MODIFIED, DELETED.
	AttrWatchEvent = "skiff.watch.event"
)

// MaxRelated caps skiff.related_uids, skiff.effect_uids and skiff.cause_uids: a span about
// more objects (a proxy's first sync) names the first MaxRelated.
const MaxRelated = 50

// The components, in the order `skiff trace` draws their columns.
const (
	ComponentKubectl   = "kubectl"
	ComponentAPIServer = "apiserver"
	ComponentEtcd      = "etcd"
	// ComponentController prefixes a controller's name: controller:replicaset.
	ComponentController = "controller"
	ComponentScheduler  = "scheduler"
	// ComponentAgent prefixes a node's name: agent:node-1.
	ComponentAgent   = "agent"
	ComponentRuntime = "runtime"
	ComponentProxy   = "proxy"
)

// Controller is the component name of a controller.
func Controller(name string) string { return ComponentController + ":" + name }

// Agent is the component name of a node's agent.
func Agent(node string) string { return ComponentAgent + ":" + node }

// Component is the skiff.component attribute.
func Component(c string) attribute.KeyValue { return attribute.String(AttrComponent, c) }

// Caller is the skiff.caller attribute.
func Caller(c string) attribute.KeyValue { return attribute.String(AttrCaller, c) }

// Object is the attributes of an object: UID, kind, namespace, name, resourceVersion and owners.
func Object(kind string, obj metav1.Object) []attribute.KeyValue {
	return appendObject(make([]attribute.KeyValue, 0, 6), kind, obj)
}

// appendObject appends the attributes of Object to attrs.
func appendObject(attrs []attribute.KeyValue, kind string, obj metav1.Object) []attribute.KeyValue {
	attrs = append(attrs, attribute.String(AttrUID, string(obj.GetUID())), attribute.String(AttrKind, kind),
		attribute.String(AttrName, obj.GetName()))
	if ns := obj.GetNamespace(); ns != "" {
		attrs = append(attrs, attribute.String(AttrNamespace, ns))
	}
	if rv := obj.GetResourceVersion(); rv != "" {
		attrs = append(attrs, attribute.String(AttrResourceVersion, rv))
	}
	if owners := obj.GetOwnerReferences(); len(owners) > 0 {
		uids := make([]string, len(owners))
		for i, o := range owners {
			uids[i] = string(o.UID)
		}
		attrs = append(attrs, attribute.String(AttrOwnerUIDs, strings.Join(uids, ",")))
	}
	return attrs
}

// Related is the skiff.related_uids attribute, of the first MaxRelated UIDs.
func Related(uids []types.UID) attribute.KeyValue { return uidList(AttrRelatedUIDs, uids) }

// Effects is the skiff.effect_uids attribute.
func Effects(uids []types.UID) attribute.KeyValue { return uidList(AttrEffectUIDs, uids) }

// Causes is the skiff.cause_uids attribute.
func Causes(uids []types.UID) attribute.KeyValue { return uidList(AttrCauseUIDs, uids) }

// uidList is a comma-separated list attribute of the first MaxRelated UIDs.
func uidList(key string, uids []types.UID) attribute.KeyValue {
	uids = uids[:min(len(uids), MaxRelated)]
	s := make([]string, len(uids))
	for i, u := range uids {
		s[i] = string(u)
	}
	return attribute.String(key, strings.Join(s, ","))
}

// CallerOf names the component behind an API request from its user and user agent: kubectl,
// scheduler, agent:<node>, controller:<name> (a controller-runtime user agent's name), or "".
func CallerOf(user, userAgent string) string {
	switch {
	case strings.HasPrefix(userAgent, "kubectl"):
		return ComponentKubectl
	case user == "system:kube-scheduler":
		return ComponentScheduler
	case strings.HasPrefix(user, "system:node:"):
		return Agent(strings.TrimPrefix(user, "system:node:"))
	}
	return ""
}

// ScopeName is the instrumentation scope of Skiff's own spans.
const ScopeName = "github.com/skiff-dev/skiff"

// Discard marks a span the Store does not keep: work that turned out to be idle (a periodic
// pod sync that changed nothing), decided when it ends.
var Discard = attribute.Bool("skiff.discard", true)
