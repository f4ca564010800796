package join

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"
	csrutil "k8s.io/client-go/util/certificate/csr"
	"k8s.io/klog/v2"
)

// Files under the data dir.
const (
	KubeconfigFile = "agent.kubeconfig"
	CAFile         = "ca.crt"
)

// Identity of nodes, as upstream.
const (
	NodeUserPrefix = "system:node:"
	NodesGroup     = "system:nodes"
)

// ErrTokenRefused is returned when the server answers the token with 401.
var ErrTokenRefused = errors.New("the join token was refused by the server (401 Unauthorized): check the token and its expiry")

// Config is one join.
type Config struct {
	// Server is the API server URL, https://HOST:PORT.
	Server string
	// Token is the join token <id>.<secret>; needed only when there is no valid kubeconfig yet.
	Token string
	// NodeName names the node: its user is system:node:<NodeName>.
	NodeName string
	// DataDir receives agent.kubeconfig and ca.crt.
	DataDir string
	// CACertHash, "sha256:<hex>" of the CA's SubjectPublicKeyInfo (kubeadm's
	// --discovery-token-ca-cert-hash), pins the cluster CA; when empty the CA read from the
	// server on first contact is trusted and stored (trust on first use).
	CACertHash string
	// Timeout bounds the wait for the certificate (default 5 minutes).
	Timeout time.Duration
}

// Result tells what Join did.
type Result struct {
	// Kubeconfig is the path of the node's kubeconfig.
	Kubeconfig string
	// Reused is true when an existing valid kubeconfig was used and the token was not.
	Reused bool
}

// KubeconfigPath is <dataDir>/agent.kubeconfig.
func KubeconfigPath(dataDir string) string { return filepath.Join(dataDir, KubeconfigFile) }

// Join returns a kubeconfig with the node's own client certificate, obtaining one with the
// token when the data dir has none that is valid.
func Join(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.NodeName == "" || cfg.DataDir == "" {
		return nil, fmt.Errorf("join needs a node name and a data dir")
	}
	log := klog.FromContext(ctx).WithValues("node", cfg.NodeName)
	path := KubeconfigPath(cfg.DataDir)
	if err := validKubeconfig(path, cfg.NodeName, time.Now()); err == nil {
		log.V(1).Info("Using the existing node credential", "kubeconfig", path)
		return &Result{Kubeconfig: path, Reused: true}, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		log.Info("Existing node credential is not usable; joining again", "kubeconfig", path, "reason", err)
	}
	if cfg.Server == "" {
		return nil, fmt.Errorf("no valid %s: --server and --token are needed to join", path)
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("no valid %s: a join token (--token) is needed to join", path)
	}
	if !tokenFormat(cfg.Token) {
		return nil, fmt.Errorf("the join token is malformed: want <6 characters [a-z0-9]>.<16 characters [a-z0-9]>")
	}
	u, err := url.Parse(cfg.Server)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("--server %q: want https://HOST:PORT", cfg.Server)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	caPEM, err := clusterCA(ctx, cfg)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the node key: %w", err)
	}
	certPEM, err := requestCertificate(ctx, cfg, caPEM, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := writeKubeconfig(path, cfg.Server, NodeUserPrefix+cfg.NodeName, caPEM, certPEM, keyPEM); err != nil {
		return nil, err
	}
	log.Info("Joined the cluster: wrote the node credential", "kubeconfig", path)
	return &Result{Kubeconfig: path}, nil
}

func tokenFormat(t string) bool {
	id, secret, ok := strings.Cut(t, ".")
	valid := func(s string, n int) bool {
		if len(s) != n {
			return false
		}
		for _, c := range s {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				return false
			}
		}
		return true
	}
	return ok && valid(id, 6) && valid(secret, 16)
}

// validKubeconfig checks that path holds a client certificate for the node, valid at now (with a
// minute to spare).
func validKubeconfig(path, node string, now time.Time) error {
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return err
	}
	cur, ok := kc.Contexts[kc.CurrentContext]
	if !ok {
		return fmt.Errorf("no current context")
	}
	auth, ok := kc.AuthInfos[cur.AuthInfo]
	if !ok || len(auth.ClientCertificateData) == 0 || len(auth.ClientKeyData) == 0 {
		return fmt.Errorf("no embedded client certificate and key")
	}
	certs, err := certutil.ParseCertsPEM(auth.ClientCertificateData)
	if err != nil {
		return err
	}
	c := certs[0]
	if want := NodeUserPrefix + node; c.Subject.CommonName != want {
		return fmt.Errorf("the certificate is for %q, not %q", c.Subject.CommonName, want)
	}
	if now.Before(c.NotBefore) || now.Add(time.Minute).After(c.NotAfter) {
		return fmt.Errorf("the certificate is valid from %s to %s", c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339))
	}
	if _, err := tls.X509KeyPair(auth.ClientCertificateData, auth.ClientKeyData); err != nil {
		return fmt.Errorf("certificate and key do not match: %w", err)
	}
	return nil
}

// CAHash is the kubeadm-style pin of a CA certificate: sha256 of its SubjectPublicKeyInfo.
func CAHash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// clusterCA returns the cluster CA: the one stored by an earlier join, or the one published in
// kube-public/cluster-info, checked against CACertHash when given.
func clusterCA(ctx context.Context, cfg Config) ([]byte, error) {
	log := klog.FromContext(ctx)
	caPath := filepath.Join(cfg.DataDir, CAFile)
	caPEM, err := os.ReadFile(caPath)
	fromFile := err == nil
	if !fromFile {
		if caPEM, err = fetchClusterInfoCA(ctx, cfg.Server); err != nil {
			return nil, err
		}
	}
	certs, err := certutil.ParseCertsPEM(caPEM)
	if err != nil {
		return nil, fmt.Errorf("parsing the cluster CA: %w", err)
	}
	if cfg.CACertHash != "" {
		want := strings.ToLower(cfg.CACertHash)
		if !strings.HasPrefix(want, "sha256:") {
			return nil, fmt.Errorf("--ca-cert-hash %q: want sha256:<hex>", cfg.CACertHash)
		}
		matched := false
		for _, c := range certs {
			matched = matched || CAHash(c) == want
		}
		if !matched {
			return nil, fmt.Errorf("the cluster CA (%s) does not match --ca-cert-hash %s: refusing to trust the server", CAHash(certs[0]), cfg.CACertHash)
		}
	} else if !fromFile {
		log.Info("Trusting the cluster CA on first use: pass --ca-cert-hash to pin it", "caCertHash", CAHash(certs[0]))
	}
	if !fromFile {
		if err := writeFileAtomic(caPath, caPEM, 0o644); err != nil {
			return nil, err
		}
	}
	return caPEM, nil
}

// fetchClusterInfoCA reads kube-public/cluster-info anonymously, without verifying the server
// (the CA is what is being learnt; it is checked by hash or trusted on first use).
func fetchClusterInfoCA(ctx context.Context, server string) ([]byte, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // learning the CA, checked below
		Proxy:           http.ProxyFromEnvironment,
	}}
	u := strings.TrimSuffix(server, "/") + "/api/v1/namespaces/kube-public/configmaps/cluster-info"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reaching the server %s: %w", server, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading the cluster CA from %s: %s", u, resp.Status)
	}
	cm := &corev1.ConfigMap{}
	if err := json.Unmarshal(body, cm); err != nil {
		return nil, fmt.Errorf("decoding cluster-info: %w", err)
	}
	kc, err := clientcmd.Load([]byte(cm.Data["kubeconfig"]))
	if err != nil {
		return nil, fmt.Errorf("cluster-info's kubeconfig: %w", err)
	}
	for _, c := range kc.Clusters {
		if len(c.CertificateAuthorityData) > 0 {
			return c.CertificateAuthorityData, nil
		}
	}
	return nil, fmt.Errorf("cluster-info has no CA")
}

// requestCertificate creates the CSR with the token and waits for its certificate.
func requestCertificate(ctx context.Context, cfg Config, caPEM []byte, key *ecdsa.PrivateKey) ([]byte, error) {
	log := klog.FromContext(ctx)
	restCfg := &rest.Config{
		Host: cfg.Server, BearerToken: cfg.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: caPEM},
		UserAgent:       "skiff-agent/" + cfg.NodeName + " (bootstrap)",
		Timeout:         30 * time.Second,
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, err
	}
	der, err := certutil.MakeCSR(key, &pkix.Name{CommonName: NodeUserPrefix + cfg.NodeName, Organization: []string{NodesGroup}}, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("making the certificate request: %w", err)
	}
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "node-csr-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    der,
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		},
	}
	created, err := client.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{})
	if err != nil {
		if apierrors.IsUnauthorized(err) {
			return nil, ErrTokenRefused
		}
		return nil, fmt.Errorf("creating the certificate signing request: %w", err)
	}
	log.Info("Requested the node's client certificate; waiting for approval", "csr", created.Name)
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cert, err := csrutil.WaitForCertificate(wctx, client, created.Name, created.UID)
	if err != nil {
		if wctx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("certificate signing request %s was not approved and signed within %v", created.Name, timeout)
		}
		return nil, fmt.Errorf("waiting for certificate signing request %s: %w", created.Name, err)
	}
	return cert, nil
}

func writeKubeconfig(path, server, user string, caPEM, certPEM, keyPEM []byte) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["skiff"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	cfg.Contexts["skiff"] = &clientcmdapi.Context{Cluster: "skiff", AuthInfo: user}
	cfg.CurrentContext = "skiff"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data, 0o600)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// ServingCertificate obtains the node's serving certificate (signer kubernetes.io/kubelet-serving)
// with the node's own credential: a CSR for CN system:node:<name>, O system:nodes and the given
// addresses, approved and signed by the control plane. It returns the certificate and key PEM.
func ServingCertificate(ctx context.Context, client kubernetes.Interface, nodeName string, ips []net.IP, dnsNames []string, timeout time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating the serving key: %w", err)
	}
	der, err := certutil.MakeCSR(key, &pkix.Name{CommonName: NodeUserPrefix + nodeName, Organization: []string{NodesGroup}}, dnsNames, ips)
	if err != nil {
		return nil, nil, fmt.Errorf("making the serving certificate request: %w", err)
	}
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "csr-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    der,
			SignerName: certificatesv1.KubeletServingSignerName,
			Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment,
				certificatesv1.UsageServerAuth},
		},
	}
	created, err := client.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("creating the serving certificate request: %w", err)
	}
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	certPEM, err = csrutil.WaitForCertificate(wctx, client, created.Name, created.UID)
	if err != nil {
		return nil, nil, fmt.Errorf("waiting for serving certificate request %s: %w", created.Name, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}
