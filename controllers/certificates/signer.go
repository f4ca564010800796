package certificates

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
)

// Signer issues certificates for approved requests.
type Signer interface {
	// Sign returns a PEM certificate for req with the given usages, valid for validity from now
	// (or less, if the signer's own certificate ends sooner).
	Sign(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage, validity time.Duration) ([]byte, error)
}

// CASigner signs with a CA certificate and key (the cluster CA under <data-dir>/pki).
type CASigner struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// NewCASigner signs with cert and key.
func NewCASigner(cert *x509.Certificate, key crypto.Signer) *CASigner {
	return &CASigner{Cert: cert, Key: key}
}

// backdate is how far before now certificates start, for clock skew, as upstream's signer.
const backdate = 5 * time.Minute

func (s *CASigner) Sign(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage, validity time.Duration) ([]byte, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	start := now()
	notAfter := start.Add(validity)
	if notAfter.After(s.Cert.NotAfter) {
		notAfter = s.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               req.Subject,
		DNSNames:              req.DNSNames,
		IPAddresses:           req.IPAddresses,
		EmailAddresses:        req.EmailAddresses,
		URIs:                  req.URIs,
		NotBefore:             start.Add(-backdate),
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
	}
	for _, u := range usages {
		switch u {
		case certificatesv1.UsageDigitalSignature:
			tmpl.KeyUsage |= x509.KeyUsageDigitalSignature
		case certificatesv1.UsageKeyEncipherment:
			tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
		case certificatesv1.UsageClientAuth:
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
		case certificatesv1.UsageServerAuth:
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		default:
			return nil, fmt.Errorf("usage %q is not supported by this signer", u)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.Cert, req.PublicKey, s.Key)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
