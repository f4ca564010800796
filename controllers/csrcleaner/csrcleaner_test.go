package csrcleaner

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	certutil "k8s.io/client-go/util/cert"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/test/poll"
)

// certificatePEM is a self-signed certificate valid until notAfter.
func certificatePEM(t *testing.T, notAfter time.Time) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "system:node:n1"},
		NotBefore: notAfter.Add(-48 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestDeadline(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	cond := func(typ certificatesv1.RequestConditionType, at time.Time) certificatesv1.CertificateSigningRequestCondition {
		c := certificatesv1.CertificateSigningRequestCondition{Type: typ, Status: corev1.ConditionTrue}
		if !at.IsZero() {
			c.LastUpdateTime = metav1.NewTime(at)
		}
		return c
	}
	valid, expired := certificatePEM(t, t0.Add(365*24*time.Hour)), certificatePEM(t, t0.Add(30*time.Minute))
	for _, tc := range []struct {
		name        string
		conditions  []certificatesv1.CertificateSigningRequestCondition
		certificate []byte
		want        time.Time
		reason      string
	}{
		{name: "pending", want: t0.Add(PendingExpiration), reason: "pending"},
		{name: "approved and issued", conditions: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved, t0)},
			certificate: valid, want: t0.Add(ApprovedExpiration), reason: "approved"},
		{name: "issued certificate expires first", conditions: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved, t0)},
			certificate: expired, want: t0.Add(30 * time.Minute), reason: "certificate expired"},
		{name: "approved, not issued", conditions: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved, t0)}},
		{name: "issued, unparsable certificate", conditions: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved, t0)},
			certificate: []byte("not pem"), want: t0.Add(ApprovedExpiration), reason: "approved"},
		{name: "denied", conditions: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateDenied, t0)},
			want: t0.Add(DeniedExpiration), reason: "denied"},
		{name: "failed", conditions: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved, t0), cond(certificatesv1.CertificateFailed, t0.Add(time.Minute))},
			want: t0.Add(time.Minute + DeniedExpiration), reason: "failed"},
		{name: "condition without a time", conditions: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateDenied, time.Time{})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			csr := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "c", CreationTimestamp: metav1.NewTime(t0)},
				Status: certificatesv1.CertificateSigningRequestStatus{Conditions: tc.conditions, Certificate: tc.certificate}}
			at, reason, ok := Deadline(csr)
			if !at.Equal(tc.want) || reason != tc.reason || ok != !tc.want.IsZero() {
				t.Errorf("Deadline = %v, %q, %v; want %v, %q", at, reason, ok, tc.want, tc.reason)
			}
		})
	}
}

// TestCleaner runs the controller against the API server with a clock 61 minutes ahead: the
// approved and issued request and the denied one go, the pending one and the approved one not
// issued yet stay; with the clock a day ahead, the pending one goes at its next change.
func TestCleaner(t *testing.T) {
	ctx := context.Background()
	clock := clocktesting.NewFakeClock(time.Now().Add(61 * time.Minute))
	s := controllertest.Start(t, func(mgr manager.Manager) error {
		return (&Reconciler{Base: controllers.Base{SkipNameValidation: true, Clock: clock}}).SetupWithManager(mgr)
	})
	csrs := s.Client.CertificatesV1().CertificateSigningRequests()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	request, err := certutil.MakeCSR(key, &pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	create := func(name string, conds ...certificatesv1.RequestConditionType) *certificatesv1.CertificateSigningRequest {
		t.Helper()
		csr, err := csrs.Create(ctx, &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: certificatesv1.CertificateSigningRequestSpec{Request: request, SignerName: "example.com/test",
				Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		for _, c := range conds {
			csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: c, Status: corev1.ConditionTrue})
		}
		if len(conds) > 0 {
			if csr, err = csrs.UpdateApproval(ctx, name, csr, metav1.UpdateOptions{}); err != nil {
				t.Fatalf("approve or deny %s: %v", name, err)
			}
		}
		return csr
	}
	issued := create("issued", certificatesv1.CertificateApproved)
	issued.Status.Certificate = certificatePEM(t, time.Now().Add(365*24*time.Hour))
	if _, err := csrs.UpdateStatus(ctx, issued, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("issue: %v", err)
	}
	create("denied", certificatesv1.CertificateDenied)
	create("approved", certificatesv1.CertificateApproved)
	create("pending")

	gone := func(name string) func() error {
		return func() error {
			if _, err := csrs.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s: %v, want NotFound", name, err)
			}
			return nil
		}
	}
	poll.Eventually(t, "issued request deleted", gone("issued"))
	poll.Eventually(t, "denied request deleted", gone("denied"))
	for _, name := range []string{"approved", "pending"} {
		if _, err := csrs.Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("%s: %v, want kept", name, err)
		}
	}

	clock.Step(24 * time.Hour)
	pending, err := csrs.Get(ctx, "pending", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pending.Labels = map[string]string{"touched": "yes"}
	if _, err := csrs.Update(ctx, pending, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "pending request deleted a day later", gone("pending"))
	if _, err := csrs.Get(ctx, "approved", metav1.GetOptions{}); err != nil {
		t.Errorf("approved, not issued: %v, want kept", err)
	}
}
