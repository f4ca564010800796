package nodelease

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// Renew creates or renews node's Lease, held by the node for duration, renewed at now; a new
// Lease is owned by the Node object, as the kubelet's.
func Renew(ctx context.Context, client kubernetes.Interface, node string, duration time.Duration, now time.Time) error {
	var r Renewer
	return r.Renew(ctx, client, node, duration, now)
}

// Renewer renews one node's Lease as the kubelet's lease controller does: after the first
// renewal it updates the Lease it wrote last (one request a renewal) and reads it again only
// when that update fails. It keeps only the Lease's resourceVersion and owner. The zero
// Renewer is ready; it is not safe for concurrent use.
type Renewer struct {
	resourceVersion string
	owner           types.UID
	// failures counts the renewals failed in a row (Next).
	failures int
}

// RetryMax bounds the wait before a failed renewal is tried again (the kubelet lease
// controller's maxBackoff).
const RetryMax = 7 * time.Second

// retryInitial is the first wait after a failed renewal; it doubles with each failure.
const retryInitial = 200 * time.Millisecond

// Next is how long to wait before the renewal after one that returned err: interval after a
// success; after a failure 200 ms, doubling with each failure in a row up to RetryMax (and
// never over interval), as the kubelet's lease controller retries a failed renewal before its
// next period. After a control-plane restart a node's Lease is so renewed within RetryMax of
// the API server's return, not up to a whole interval later.
func (r *Renewer) Next(err error, interval time.Duration) time.Duration {
	if err == nil {
		r.failures = 0
		return interval
	}
	d := retryInitial << min(r.failures, 6)
	r.failures++
	return min(d, RetryMax, interval)
}

// Heartbeat runs one renewal, renew, bounded by interval as the kubelet's heartbeat client (a
// request left hanging on a dead connection would hold every later renewal), logs its error and
// returns how long to wait before the next one (Next) with that error. The agent's Lease loop
// and a simulated pool's Lease task both renew through it.
func (r *Renewer) Heartbeat(ctx context.Context, interval time.Duration, renew func(context.Context) error) (time.Duration, error) {
	rctx, cancel := context.WithTimeout(ctx, interval)
	err := renew(rctx)
	cancel()
	if err != nil {
		klog.FromContext(ctx).Error(err, "Renewing node lease failed")
	}
	return r.Next(err, interval), err
}

// Renew creates or renews node's Lease, held for duration, renewed at now.
func (r *Renewer) Renew(ctx context.Context, client kubernetes.Interface, node string, duration time.Duration, now time.Time) error {
	leases := client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	lease := r.lease(node, duration, now)
	if r.resourceVersion != "" {
		lease.ResourceVersion = r.resourceVersion
		if upd, err := leases.Update(ctx, lease, metav1.UpdateOptions{}); err == nil {
			r.resourceVersion = upd.ResourceVersion
			return nil
		}
		r.resourceVersion = "" // read it again below
		lease = r.lease(node, duration, now)
	}
	cur, err := leases.Get(ctx, node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if n, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); err == nil {
			r.owner = n.UID
			lease.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.Name, UID: n.UID}}
		}
		created, err := leases.Create(ctx, lease, metav1.CreateOptions{})
		if err == nil {
			r.resourceVersion = created.ResourceVersion
		}
		return err
	}
	if err != nil {
		return err
	}
	cur.Spec.RenewTime, cur.Spec.HolderIdentity, cur.Spec.LeaseDurationSeconds = lease.Spec.RenewTime, lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds
	upd, err := leases.Update(ctx, cur, metav1.UpdateOptions{})
	if err == nil {
		r.resourceVersion, r.owner = upd.ResourceVersion, ""
		for _, o := range upd.OwnerReferences {
			if o.Kind == "Node" && o.Name == node {
				r.owner = o.UID
			}
		}
	}
	return err
}

// lease is the Lease a renewal writes (without resourceVersion).
func (r *Renewer) lease(node string, duration time.Duration, now time.Time) *coordinationv1.Lease {
	renew := metav1.NewMicroTime(now)
	l := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: node, Namespace: corev1.NamespaceNodeLease},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(node), LeaseDurationSeconds: ptr.To(int32(duration / time.Second)),
			RenewTime: &renew},
	}
	if r.owner != "" {
		l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node, UID: r.owner}}
	}
	return l
}
