package csrcleaner

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/skiff-dev/skiff/controllers"
)

// ControllerName names the controller and its log.
const ControllerName = "certificatesigningrequest-cleaner-controller"

// How long upstream's cleaner keeps a request in each state.
const (
	// ApprovedExpiration is how long an approved and issued request is kept.
	ApprovedExpiration = time.Hour
	// DeniedExpiration is how long a denied or failed request is kept.
	DeniedExpiration = time.Hour
	// PendingExpiration is how long a request without a condition is kept.
	PendingExpiration = 24 * time.Hour
)

// Deadline is when csr is to be deleted, the earliest of the deadlines of its state, and the
// reason; false when it is kept (approved but not issued yet, or conditions without a time).
func Deadline(csr *certificatesv1.CertificateSigningRequest) (time.Time, string, bool) {
	var at time.Time
	var reason string
	consider := func(t time.Time, why string) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at, reason = t, why
		}
	}
	if len(csr.Status.Conditions) == 0 {
		consider(after(csr.CreationTimestamp, PendingExpiration), "pending")
	}
	issued := len(csr.Status.Certificate) > 0
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved:
			if issued {
				consider(after(c.LastUpdateTime, ApprovedExpiration), "approved")
				if notAfter, ok := certificateNotAfter(csr.Status.Certificate); ok {
					consider(notAfter, "certificate expired")
				}
			}
		case certificatesv1.CertificateDenied:
			consider(after(c.LastUpdateTime, DeniedExpiration), "denied")
		case certificatesv1.CertificateFailed:
			consider(after(c.LastUpdateTime, DeniedExpiration), "failed")
		}
	}
	return at, reason, !at.IsZero()
}

// after is t+d, or zero for a zero t (a condition without a time is never old, as upstream's).
func after(t metav1.Time, d time.Duration) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Add(d)
}

// certificateNotAfter is the expiry of the first certificate of a PEM bundle.
func certificateNotAfter(bundle []byte) (time.Time, bool) {
	block, _ := pem.Decode(bundle)
	if block == nil {
		return time.Time{}, false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return time.Time{}, false
	}
	return cert.NotAfter, true
}

// Reconciler deletes CertificateSigningRequests past their Deadline.
type Reconciler struct {
	controllers.Base
}

// SetupWithManager registers the controller with mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	opts := r.Complete(mgr, ControllerName)
	return ctrl.NewControllerManagedBy(mgr).Named("csrcleaner").For(&certificatesv1.CertificateSigningRequest{}).WithOptions(opts).Complete(r)
}

// Reconcile deletes one request past its deadline, or comes back when it passes.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	csr := &certificatesv1.CertificateSigningRequest{}
	if err := r.Client.Get(ctx, req.NamespacedName, csr); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	at, reason, ok := Deadline(csr)
	if !ok || csr.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	if left := at.Sub(r.Clock.Now()); left > 0 {
		return ctrl.Result{RequeueAfter: left}, nil
	}
	klog.FromContext(ctx).V(2).Info("Cleaning up CertificateSigningRequest", "csr", csr.Name, "reason", reason)
	// Preconditions: a request changed since it was read is decided again.
	err := r.Client.Delete(ctx, csr, &client.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &csr.UID, ResourceVersion: &csr.ResourceVersion}})
	switch {
	case err == nil, apierrors.IsNotFound(err):
		return ctrl.Result{}, nil
	case apierrors.IsConflict(err):
		return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
	default:
		return ctrl.Result{}, fmt.Errorf("deleting CertificateSigningRequest %s: %w", csr.Name, err)
	}
}
