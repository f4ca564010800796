package join

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// servingPair is a self-signed serving certificate for ips and dnsNames valid from notBefore for
// lifetime, and its key, in PEM.
func servingPair(t *testing.T, ips []net.IP, dnsNames []string, notBefore time.Time, lifetime time.Duration) ([]byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "system:node:n1"},
		NotBefore: notBefore, NotAfter: notBefore.Add(lifetime), IPAddresses: ips, DNSNames: dnsNames}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

func TestKeptServingCertificate(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	year := 365 * 24 * time.Hour
	ips := []net.IP{net.ParseIP("10.0.0.1"), net.ParseIP("fd00::1")}
	for _, tc := range []struct {
		name        string
		kept        func() []byte // nil: no file
		ips         []net.IP
		dnsNames    []string
		wantRequest bool
	}{
		{name: "none kept", wantRequest: true, ips: ips},
		{name: "kept and valid", ips: ips, dnsNames: []string{"n1"},
			kept: func() []byte {
				c, k := servingPair(t, ips, []string{"n1"}, now.Add(-time.Hour), year)
				return append(c, k...)
			}},
		{name: "same addresses in another order", ips: []net.IP{ips[1], net.ParseIP("10.0.0.1").To4()},
			kept: func() []byte { c, k := servingPair(t, ips, nil, now.Add(-time.Hour), year); return append(c, k...) }},
		{name: "addresses changed", ips: []net.IP{net.ParseIP("10.0.0.2")}, wantRequest: true,
			kept: func() []byte { c, k := servingPair(t, ips, nil, now.Add(-time.Hour), year); return append(c, k...) }},
		{name: "names changed", ips: ips, dnsNames: []string{"n2"}, wantRequest: true,
			kept: func() []byte {
				c, k := servingPair(t, ips, []string{"n1"}, now.Add(-time.Hour), year)
				return append(c, k...)
			}},
		{name: "most of its lifetime gone", ips: ips, wantRequest: true,
			kept: func() []byte { c, k := servingPair(t, ips, nil, now.Add(-year*8/10), year); return append(c, k...) }},
		{name: "not valid yet", ips: ips, wantRequest: true,
			kept: func() []byte { c, k := servingPair(t, ips, nil, now.Add(time.Hour), year); return append(c, k...) }},
		{name: "key of another certificate", ips: ips, wantRequest: true,
			kept: func() []byte {
				c, _ := servingPair(t, ips, nil, now.Add(-time.Hour), year)
				_, k := servingPair(t, ips, nil, now.Add(-time.Hour), year)
				return append(c, k...)
			}},
		{name: "garbage", ips: ips, wantRequest: true, kept: func() []byte { return []byte("not a certificate") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var keptCert []byte
			if tc.kept != nil {
				data := tc.kept()
				keptCert = data
				if err := os.WriteFile(filepath.Join(dir, ServingFile), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			newCert, newKey := servingPair(t, tc.ips, tc.dnsNames, now, year)
			requested := 0
			certPEM, keyPEM, err := KeptServingCertificate(dir, tc.ips, tc.dnsNames, now, func() ([]byte, []byte, error) {
				requested++
				return newCert, newKey, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := requested == 1; got != tc.wantRequest {
				t.Fatalf("requested %d times, want a request: %v", requested, tc.wantRequest)
			}
			if tc.wantRequest {
				if string(certPEM) != string(newCert) || string(keyPEM) != string(newKey) {
					t.Error("not the new certificate")
				}
				data, err := os.ReadFile(filepath.Join(dir, ServingFile))
				if err != nil || string(data) != string(newCert)+string(newKey) {
					t.Errorf("new certificate not kept: %v", err)
				}
			} else if string(certPEM)+string(keyPEM) != string(keptCert) {
				t.Error("not the kept certificate")
			}
		})
	}
}
