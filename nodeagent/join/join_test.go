package join

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/apiserver/pki"
)

func TestTokenFormat(t *testing.T) {
	for tok, want := range map[string]bool{
		"abc123.0123456789abcdef": true, "abc123.0123456789abcde": false, "ABC123.0123456789abcdef": false,
		"abc123-0123456789abcdef": false, "": false, "abc123.0123456789abcdef0": false,
	} {
		if got := tokenFormat(tok); got != want {
			t.Errorf("tokenFormat(%q) = %v", tok, got)
		}
	}
}

func TestValidKubeconfig(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.LoadOrCreateCA(dir, "ca", "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.CertSpec{CommonName: "system:node:n1", Organization: []string{"system:nodes"}, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KubeconfigFile)
	if err := writeKubeconfig(path, "https://127.0.0.1:6443", "system:node:n1", ca.CertPEM, certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	if err := validKubeconfig(path, "n1", time.Now()); err != nil {
		t.Fatalf("valid kubeconfig refused: %v", err)
	}
	if err := validKubeconfig(path, "n2", time.Now()); err == nil || !strings.Contains(err.Error(), "system:node:n2") {
		t.Fatalf("another node's credential accepted: %v", err)
	}
	if err := validKubeconfig(path, "n1", time.Now().Add(2*365*24*time.Hour)); err == nil {
		t.Fatalf("expired credential accepted")
	}
	// Reuse needs neither server nor token.
	res, err := Join(context.Background(), Config{NodeName: "n1", DataDir: dir})
	if err != nil || !res.Reused {
		t.Fatalf("reuse: %+v %v", res, err)
	}
	// Without a valid credential, a token is needed.
	_, err = Join(context.Background(), Config{NodeName: "n2", DataDir: dir, Server: "https://127.0.0.1:6443"})
	if err == nil || !strings.Contains(err.Error(), "--token") {
		t.Fatalf("join without token: %v", err)
	}
	_, err = Join(context.Background(), Config{NodeName: "n2", DataDir: dir, Server: "https://127.0.0.1:6443", Token: "bad"})
	if err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("malformed token: %v", err)
	}
}
