package podcidr

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/klog/v2"
)

// Wait returns the Node's spec.podCIDR once it is set (at once when it already is), logging one
// line if it has to wait. It lists and watches this one Node (a field selector on its name)
// rather than polling it: a thousand nodes joining at once would otherwise read their Nodes
// thousands of times a second while the node IPAM controller works through them (issue 17).
// It ends with ctx.
func Wait(ctx context.Context, client kubernetes.Interface, nodeName string) (string, error) {
	log := klog.FromContext(ctx)
	selector := fields.OneTermEqualSelector("metadata.name", nodeName).String()
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = selector
			return client.CoreV1().Nodes().List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			return client.CoreV1().Nodes().Watch(ctx, o)
		},
	}, client)
	var cidr string
	logged := false
	assigned := func(obj any) bool {
		if n, ok := obj.(*corev1.Node); ok && n.Name == nodeName && n.Spec.PodCIDR != "" {
			cidr = n.Spec.PodCIDR
			return true
		}
		return false
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &corev1.Node{}, func(store cache.Store) (bool, error) {
		obj, ok, err := store.GetByKey(nodeName)
		if err != nil {
			return false, err
		}
		if ok && assigned(obj) {
			return true, nil
		}
		log.Info("Waiting for the node's spec.podCIDR to be assigned by the node IPAM controller (--allocate-node-cidrs, --cluster-cidr on the server; or give the node --pod-cidr)", "node", nodeName)
		logged = true
		return false, nil
	}, func(ev watch.Event) (bool, error) {
		return ev.Type != watch.Deleted && assigned(ev.Object), nil
	})
	if err != nil {
		return "", fmt.Errorf("waiting for the podCIDR of node %s: %w", nodeName, err)
	}
	if logged {
		log.Info("Node podCIDR assigned", "node", nodeName, "podCIDR", cidr)
	}
	return cidr, nil
}
