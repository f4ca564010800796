package printers

import (
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCSRRows(t *testing.T) {
	csr := func(conds []certificatesv1.RequestConditionType, cert bool, seconds *int32) *certificatesv1.CertificateSigningRequest {
		c := &certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{Name: "node-csr-x", CreationTimestamp: ago(90 * time.Second)},
			Spec: certificatesv1.CertificateSigningRequestSpec{SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
				Username: "system:bootstrap:abc123", ExpirationSeconds: seconds},
		}
		for _, t := range conds {
			c.Status.Conditions = append(c.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: t})
		}
		if cert {
			c.Status.Certificate = []byte("x")
		}
		return c
	}
	for _, tc := range []struct {
		obj       *certificatesv1.CertificateSigningRequest
		duration  string
		condition string
	}{
		{csr(nil, false, nil), "<none>", "Pending"},
		{csr([]certificatesv1.RequestConditionType{certificatesv1.CertificateApproved}, false, ptrTo(int32(3600))), "60m", "Approved"},
		{csr([]certificatesv1.RequestConditionType{certificatesv1.CertificateApproved}, true, ptrTo(int32(86400))), "24h", "Approved,Issued"},
		{csr([]certificatesv1.RequestConditionType{certificatesv1.CertificateDenied}, false, nil), "<none>", "Denied"},
		{csr([]certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateFailed}, false, nil), "<none>", "Approved,Failed"},
	} {
		checkCells(t, rowCells(t, csrGR, tc.obj), []any{"node-csr-x", "90s", "kubernetes.io/kube-apiserver-client-kubelet",
			"system:bootstrap:abc123", tc.duration, tc.condition})
	}
}
