package certificates

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	certutil "k8s.io/client-go/util/cert"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

func testCSR(t *testing.T) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	req, err := certutil.MakeCSR(key, &pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "c", ResourceVersion: "1"},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: req, SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}}}
}

func TestValidateCSR(t *testing.T) {
	if errs := validateCSR(testCSR(t)); len(errs) != 0 {
		t.Fatalf("valid CSR: %v", errs)
	}
	short := int32(599)
	for name, tc := range map[string]struct {
		mutate func(*certificatesv1.CertificateSigningRequest)
		want   string
	}{
		"not pem":       {func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = []byte("x") }, "spec.request"},
		"no signer":     {func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "" }, "spec.signerName: Required"},
		"bad signer":    {func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "nodomain" }, "spec.signerName: Invalid"},
		"no usages":     {func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages = nil }, "spec.usages: Required"},
		"unknown usage": {func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages = []certificatesv1.KeyUsage{"fly"} }, "spec.usages[0]: Unsupported"},
		"duplicate": {func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Usages = append(c.Spec.Usages, c.Spec.Usages[0])
		}, "spec.usages[2]: Duplicate"},
		"short duration": {func(c *certificatesv1.CertificateSigningRequest) { c.Spec.ExpirationSeconds = &short }, "spec.expirationSeconds"},
		"no name":        {func(c *certificatesv1.CertificateSigningRequest) { c.Name = "" }, "metadata.name"},
	} {
		c := testCSR(t)
		tc.mutate(c)
		errs := validateCSR(c)
		if !strings.Contains(errs.ToAggregate().Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, errs, tc.want)
		}
	}
}

func TestCSRStrategy(t *testing.T) {
	scheme := runtime.NewScheme()
	main := &csrStrategy{Strategy: registry.NewStrategy(scheme, CSRKind, false), mode: csrMain}
	status := &csrStrategy{Strategy: registry.NewStrategy(scheme, CSRKind, true), mode: csrStatus}
	approval := &csrStrategy{Strategy: registry.NewStrategy(scheme, CSRKind, true), mode: csrApproval}
	ctx := genericapirequest.WithUser(context.Background(), &user.DefaultInfo{Name: "system:bootstrap:abc123", UID: "u",
		Groups: []string{"system:bootstrappers"}, Extra: map[string][]string{"k": {"v"}}})

	c := testCSR(t)
	c.Spec.Username, c.Spec.Groups = "system:admin", []string{"system:masters"}
	c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}
	main.PrepareForCreate(ctx, c)
	if c.Spec.Username != "system:bootstrap:abc123" || c.Spec.UID != "u" || len(c.Spec.Groups) != 1 || c.Spec.Extra["k"][0] != "v" {
		t.Fatalf("user info %+v", c.Spec)
	}
	if len(c.Status.Conditions) != 0 {
		t.Fatalf("created pre-approved")
	}

	// /status cannot approve.
	upd := c.DeepCopy()
	upd.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}
	status.PrepareForUpdate(ctx, upd, c)
	if len(upd.Status.Conditions) != 0 {
		t.Fatalf("/status approved: %+v", upd.Status.Conditions)
	}
	// /approval approves, with timestamps, and cannot set the certificate.
	upd = c.DeepCopy()
	upd.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}
	upd.Status.Certificate = []byte("x")
	upd.Spec.SignerName = "example.com/other"
	approval.PrepareForUpdate(ctx, upd, c)
	if len(upd.Status.Conditions) != 1 || upd.Status.Conditions[0].LastUpdateTime.IsZero() || len(upd.Status.Certificate) != 0 ||
		upd.Spec.SignerName != c.Spec.SignerName {
		t.Fatalf("approval update %+v %+v", upd.Spec, upd.Status)
	}
	if errs := approval.ValidateUpdate(ctx, upd, c); len(errs) != 0 {
		t.Fatalf("approval invalid: %v", errs)
	}
	// Approved and Denied together, and removing an approval, are invalid.
	both := upd.DeepCopy()
	both.Status.Conditions = append(both.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: certificatesv1.CertificateDenied, Status: corev1.ConditionTrue})
	if errs := approval.ValidateUpdate(ctx, both, upd); !strings.Contains(errs.ToAggregate().Error(), "mutually exclusive") {
		t.Fatalf("approved and denied: %v", errs)
	}
	removed := upd.DeepCopy()
	removed.Status.Conditions = nil
	if errs := approval.ValidateUpdate(ctx, removed, upd); !strings.Contains(errs.ToAggregate().Error(), "may not remove") {
		t.Fatalf("removed approval: %v", errs)
	}
	// A certificate on an unapproved request, or not PEM, is invalid.
	pending := c.DeepCopy()
	pending.Status.Certificate = []byte("x")
	errs := status.ValidateUpdate(ctx, pending, c).ToAggregate().Error()
	if !strings.Contains(errs, "once the request is approved") || !strings.Contains(errs, "PEM") {
		t.Fatalf("certificate on pending request: %v", errs)
	}
}
