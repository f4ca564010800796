package proxy

import (
	"go.opentelemetry.io/otel/attribute"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/insight/trace"
)

// watch is the proxy's deliveries of kind (insight/trace.Watch), naming this node, and the
// objects related (an EndpointSlice's pods) when related is set.
func (p *Proxier) watch(kind string, related func(metav1.Object) []types.UID) *trace.Watch {
	w := trace.NewWatch(trace.ComponentProxy, kind)
	node := attribute.String(trace.AttrNode, p.cfg.NodeName)
	w.Attributes = func(obj metav1.Object) []attribute.KeyValue {
		if related == nil {
			return []attribute.KeyValue{node}
		}
		return []attribute.KeyValue{node, trace.Related(related(obj))}
	}
	return w
}

// slicePods are the pods an EndpointSlice's endpoints point to.
func slicePods(obj metav1.Object) []types.UID {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil
	}
	var uids []types.UID
	for _, e := range s.Endpoints {
		if ref := e.TargetRef; ref != nil && ref.Kind == "Pod" && ref.UID != "" {
			uids = append(uids, ref.UID)
		}
	}
	return uids
}
