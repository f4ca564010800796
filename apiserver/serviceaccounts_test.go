package apiserver

import (
	"os"
	"path/filepath"
	"testing"

	certutil "k8s.io/client-go/util/cert"

	"github.com/skiff-dev/skiff/apiserver/pki"
)

// TestServingCertificateCoversKubernetesServiceIP: the serving certificate names the
// kubernetes Service's ClusterIP, and one written without it is issued again.
func TestServingCertificateCoversKubernetesServiceIP(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.LoadOrCreateCA(dir, "ca", "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(dir, "apiserver.crt"), filepath.Join(dir, "apiserver.key")
	if err := ca.EnsurePair(certPath, keyPath, servingSpec(nil)); err != nil {
		t.Fatal(err)
	}
	covers := func(ip string) bool {
		data, err := os.ReadFile(certPath)
		if err != nil {
			t.Fatal(err)
		}
		certs, err := certutil.ParseCertsPEM(data)
		if err != nil {
			t.Fatal(err)
		}
		return certs[0].VerifyHostname(ip) == nil
	}
	if covers("10.100.0.1") {
		t.Fatal("the old certificate already covers the service IP")
	}
	if err := ca.EnsurePair(certPath, keyPath, withKubernetesServiceIP(servingSpec(nil), "10.100.0.0/16", certPath, keyPath)); err != nil {
		t.Fatal(err)
	}
	if !covers("10.100.0.1") || !covers("127.0.0.1") {
		t.Error("the reissued certificate does not cover 10.100.0.1 and 127.0.0.1")
	}
	before, _ := os.ReadFile(certPath)
	if err := ca.EnsurePair(certPath, keyPath, withKubernetesServiceIP(servingSpec(nil), "10.100.0.0/16", certPath, keyPath)); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(certPath); string(after) != string(before) {
		t.Error("a certificate that covers the service IP was issued again")
	}
}
