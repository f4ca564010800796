package certificates

import (
	"context"
	"fmt"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Controller approves and signs node certificate requests.
type Controller struct {
	// Signer signs approved requests of the kubelet signers; nil: the controller only approves.
	Signer Signer
	// Validity of issued certificates when the request sets no expirationSeconds (default one
	// year, upstream's --cluster-signing-duration).
	Validity time.Duration
	// SkipNameValidation lets several managers run in one process (tests).
	SkipNameValidation bool

	client client.Client
}

// SetupWithManager adds the controller to mgr.
func (c *Controller) SetupWithManager(mgr manager.Manager) error {
	if c.Validity == 0 {
		c.Validity = 365 * 24 * time.Hour
	}
	c.client = mgr.GetClient()
	skip := c.SkipNameValidation
	return ctrl.NewControllerManagedBy(mgr).
		Named("certificatesigningrequest").
		For(&certificatesv1.CertificateSigningRequest{}).
		// Upstream's approver and signer each run 5 workers; this controller is both (one
		// worker signed about 5 requests a second while 5,000 nodes joined, issue 17).
		WithOptions(controller.Options{SkipNameValidation: &skip, MaxConcurrentReconciles: 10}).
		Complete(c)
}

func condition(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == t {
			return true
		}
	}
	return false
}

// Reconcile approves a pending request this controller may approve, then signs it.
func (c *Controller) Reconcile(ctx context.Context, r ctrl.Request) (ctrl.Result, error) {
	log := klog.FromContext(ctx).WithValues("csr", r.Name)
	csr := &certificatesv1.CertificateSigningRequest{}
	if err := c.client.Get(ctx, r.NamespacedName, csr); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	signer := csr.Spec.SignerName
	if signer != certificatesv1.KubeAPIServerClientKubeletSignerName && signer != certificatesv1.KubeletServingSignerName {
		return ctrl.Result{}, nil
	}
	if condition(csr, certificatesv1.CertificateDenied) || condition(csr, certificatesv1.CertificateFailed) || len(csr.Status.Certificate) > 0 {
		return ctrl.Result{}, nil
	}
	req, err := ParseRequest(csr.Spec.Request)
	if err != nil {
		return ctrl.Result{}, c.fail(ctx, csr, fmt.Sprintf("unable to parse the request: %v", err))
	}
	if !condition(csr, certificatesv1.CertificateApproved) {
		var msg string
		if signer == certificatesv1.KubeAPIServerClientKubeletSignerName {
			msg = ApproveClient(csr, req)
		} else {
			node := &corev1.Node{}
			name := req.Subject.CommonName[min(len(NodeUserPrefix), len(req.Subject.CommonName)):]
			if err := c.client.Get(ctx, types.NamespacedName{Name: name}, node); err != nil {
				if !apierrors.IsNotFound(err) {
					return ctrl.Result{}, err
				}
				node = nil
			}
			msg = ApproveServing(csr, req, node)
			if msg == "" && node == nil && ValidateNodeServing(req, csr.Spec.Usages) == nil {
				// The node may register soon.
				return ctrl.Result{RequeueAfter: 5 * time.Second}, nil
			}
		}
		if msg == "" {
			return ctrl.Result{}, nil
		}
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue,
			Reason: ReasonAutoApproved, Message: msg, LastUpdateTime: metav1.Now(),
		})
		if err := c.client.SubResource("approval").Update(ctx, csr); err != nil {
			return ctrl.Result{}, fmt.Errorf("approving: %w", err)
		}
		log.Info("Approved certificate signing request", "signer", signer, "requestor", csr.Spec.Username)
	}
	if c.Signer == nil {
		return ctrl.Result{}, nil
	}
	validate := ValidateNodeClient
	if signer == certificatesv1.KubeletServingSignerName {
		validate = ValidateNodeServing
	}
	if err := validate(req, csr.Spec.Usages); err != nil {
		return ctrl.Result{}, c.fail(ctx, csr, err.Error())
	}
	if err := req.CheckSignature(); err != nil {
		return ctrl.Result{}, c.fail(ctx, csr, fmt.Sprintf("invalid request signature: %v", err))
	}
	validity := c.Validity
	if e := csr.Spec.ExpirationSeconds; e != nil && time.Duration(*e)*time.Second < validity {
		validity = time.Duration(*e) * time.Second
	}
	cert, err := c.Signer.Sign(req, csr.Spec.Usages, validity)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("signing: %w", err)
	}
	csr.Status.Certificate = cert
	if err := c.client.Status().Update(ctx, csr); err != nil {
		return ctrl.Result{}, fmt.Errorf("writing the certificate: %w", err)
	}
	log.Info("Issued certificate", "signer", signer, "subject", req.Subject.CommonName)
	return ctrl.Result{}, nil
}

// fail marks the request Failed, as upstream's signer does for a request it will not sign.
func (c *Controller) fail(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, msg string) error {
	if !condition(csr, certificatesv1.CertificateApproved) {
		return nil // not ours to fail before approval
	}
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateFailed, Status: corev1.ConditionTrue,
		Reason: ReasonSignerValidation, Message: msg, LastUpdateTime: metav1.Now(),
	})
	return c.client.Status().Update(ctx, csr)
}
