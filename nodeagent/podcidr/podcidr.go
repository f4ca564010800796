package podcidr

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// PollInterval is how often the Node is read while waiting.
const PollInterval = 250 * time.Millisecond

// Wait returns the Node's spec.podCIDR once it is set (at once when it already is), logging one
// line if it has to wait. It ends with ctx.
func Wait(ctx context.Context, client kubernetes.Interface, nodeName string) (string, error) {
	log := klog.FromContext(ctx)
	var cidr string
	logged := false
	err := wait.PollUntilContextCancel(ctx, PollInterval, true, func(ctx context.Context) (bool, error) {
		n, err := client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			log.V(2).Info("Reading the node for its podCIDR, will retry", "node", nodeName, "err", err.Error())
			return false, nil
		}
		if err == nil && n.Spec.PodCIDR != "" {
			cidr = n.Spec.PodCIDR
			return true, nil
		}
		if !logged {
			log.Info("Waiting for the node's spec.podCIDR to be assigned by the node IPAM controller (--allocate-node-cidrs, --cluster-cidr on the server; or give the node --pod-cidr)", "node", nodeName)
			logged = true
		}
		return false, nil
	})
	if err != nil {
		return "", fmt.Errorf("waiting for the podCIDR of node %s: %w", nodeName, err)
	}
	if logged {
		log.Info("Node podCIDR assigned", "node", nodeName, "podCIDR", cidr)
	}
	return cidr, nil
}
