package serviceaccount

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/util/keyutil"
)

// Key file names under the PKI directory, as kubeadm names them.
const (
	KeyFile    = "sa.key"
	PubKeyFile = "sa.pub"
)

// LoadOrCreateKey loads dir/sa.key, or generates a 2048-bit RSA key and writes it with its
// public half (dir/sa.pub) when there is none, so tokens stay valid across restarts.
func LoadOrCreateKey(dir string) (*rsa.PrivateKey, error) {
	keyPath := filepath.Join(dir, KeyFile)
	data, err := os.ReadFile(keyPath)
	switch {
	case err == nil:
		obj, err := keyutil.ParsePrivateKeyPEM(data)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", keyPath, err)
		}
		key, ok := obj.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s is not an RSA private key", keyPath)
		}
		return key, writePublic(dir, &key.PublicKey, false)
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("reading %s: %w", keyPath, err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating the service account key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	der := x509.MarshalPKCS1PrivateKey(key)
	tmp := keyPath + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, keyPath); err != nil {
		return nil, fmt.Errorf("writing %s: %w", keyPath, err)
	}
	return key, writePublic(dir, &key.PublicKey, true)
}

func writePublic(dir string, pub *rsa.PublicKey, overwrite bool) error {
	p := filepath.Join(dir, PubKeyFile)
	if _, err := os.Stat(p); err == nil && !overwrite {
		return nil
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return fmt.Errorf("encoding the service account public key: %w", err)
	}
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

// KeyID is upstream's key ID of a public key: the unpadded base64url SHA-256 of its PKIX DER.
func KeyID(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encoding public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}
