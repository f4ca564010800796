package certificates_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	certutil "k8s.io/client-go/util/cert"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/apiserver/bootstrap"
	"github.com/skiff-dev/skiff/apiserver/pki"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/certificates"
	"github.com/skiff-dev/skiff/nodeagent/join"
	"github.com/skiff-dev/skiff/test/poll"
)

// startCluster runs an API server and the certificates controller signing with its CA.
func startCluster(t *testing.T) (*apiservertest.Server, *pki.CA) {
	t.Helper()
	s := apiservertest.Start(t)
	ca, err := pki.LoadOrCreateCA(filepath.Join(s.DataDir, "pki"), "ca", "skiff-ca")
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := controllers.NewManager(s.Config, controllers.Options{MetricsBindAddress: "0"})
	if err != nil {
		t.Fatal(err)
	}
	c := &certificates.Controller{Signer: certificates.NewCASigner(ca.Cert, ca.Key), SkipNameValidation: true}
	if err := c.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- controllers.Run(ctx, mgr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("manager: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("manager did not stop")
		}
	})
	return s, ca
}

func createToken(t *testing.T, client kubernetes.Interface, ttl time.Duration, now time.Time) bootstrap.Token {
	t.Helper()
	tok, err := bootstrap.GenerateToken()
	if err != nil {
		t.Fatal(err)
	}
	secret := bootstrap.NewSecret(tok, bootstrap.SecretOptions{TTL: ttl, Now: now})
	if _, err := client.CoreV1().Secrets("kube-system").Create(context.Background(), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return tok
}

func whoami(t *testing.T, cfg *rest.Config) authenticationv1.UserInfo {
	t.Helper()
	client := kubernetes.NewForConfigOrDie(cfg)
	r, err := client.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("selfsubjectreview: %v", err)
	}
	return r.Status.UserInfo
}

func TestJoin(t *testing.T) {
	s, ca := startCluster(t)
	ctx := context.Background()
	tok := createToken(t, s.Client, time.Hour, time.Now())
	dir := t.TempDir()
	cfg := join.Config{Server: s.Config.Host, Token: tok.String(), NodeName: "n1", DataDir: dir, Timeout: time.Minute,
		CACertHash: join.CAHash(ca.Cert)}
	res, err := join.Join(ctx, cfg)
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	if res.Reused || res.Kubeconfig != filepath.Join(dir, "agent.kubeconfig") {
		t.Fatalf("result %+v", res)
	}
	nodeCfg, err := clientcmd.BuildConfigFromFlags("", res.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if nodeCfg.BearerToken != "" {
		t.Fatalf("the node kubeconfig carries a token")
	}
	u := whoami(t, nodeCfg)
	if u.Username != "system:node:n1" || !slices.Contains(u.Groups, "system:nodes") || !slices.Contains(u.Groups, "system:authenticated") {
		t.Fatalf("node identity %+v", u)
	}

	// The CSR records the bootstrapper and the approval, as upstream.
	csrs, err := s.Client.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
	if err != nil || len(csrs.Items) != 1 {
		t.Fatalf("csrs: %v %v", csrs, err)
	}
	csr := csrs.Items[0]
	if csr.Spec.Username != "system:bootstrap:"+tok.ID || !slices.Contains(csr.Spec.Groups, "system:bootstrappers") {
		t.Errorf("requestor %q %v", csr.Spec.Username, csr.Spec.Groups)
	}
	if len(csr.Status.Conditions) != 1 || csr.Status.Conditions[0].Type != certificatesv1.CertificateApproved ||
		csr.Status.Conditions[0].Reason != "AutoApproved" ||
		csr.Status.Conditions[0].Message != "Auto approving kubelet client certificate after SubjectAccessReview." {
		t.Errorf("conditions %+v", csr.Status.Conditions)
	}

	// A second run reuses the credential and needs no token.
	cfg.Token, cfg.Server = "", ""
	res2, err := join.Join(ctx, cfg)
	if err != nil || !res2.Reused {
		t.Fatalf("second join: %+v %v", res2, err)
	}
	// Deleting the token does not affect the node.
	if err := s.Client.CoreV1().Secrets("kube-system").Delete(ctx, bootstrap.SecretName(tok.ID), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if u := whoami(t, nodeCfg); u.Username != "system:node:n1" {
		t.Fatalf("after token deletion: %+v", u)
	}
}

func TestJoinTrustOnFirstUse(t *testing.T) {
	s, ca := startCluster(t)
	tok := createToken(t, s.Client, 0, time.Time{})
	dir := t.TempDir()
	if _, err := join.Join(context.Background(), join.Config{Server: s.Config.Host, Token: tok.String(), NodeName: "n2", DataDir: dir, Timeout: time.Minute}); err != nil {
		t.Fatalf("join: %v", err)
	}
	stored, err := certutil.CertsFromFile(filepath.Join(dir, "ca.crt"))
	if err != nil || !stored[0].Equal(ca.Cert) {
		t.Fatalf("stored CA: %v", err)
	}
}

func TestJoinRefused(t *testing.T) {
	s, ca := startCluster(t)
	tok := createToken(t, s.Client, time.Hour, time.Now())
	expired := createToken(t, s.Client, time.Hour, time.Now().Add(-2*time.Hour))
	for _, tc := range []struct{ name, token string }{
		{"wrong secret", tok.ID + ".0000000000000000"},
		{"unknown id", "zzzzzz.0000000000000000"},
		{"expired", expired.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := join.Join(context.Background(), join.Config{Server: s.Config.Host, Token: tc.token, NodeName: "n1",
				DataDir: t.TempDir(), Timeout: 30 * time.Second})
			if !errors.Is(err, join.ErrTokenRefused) {
				t.Fatalf("err = %v", err)
			}
			want := "the join token was refused by the server (401 Unauthorized): check the token and its expiry"
			if err.Error() != want {
				t.Fatalf("message %q", err)
			}
		})
	}
	t.Run("CA hash mismatch", func(t *testing.T) {
		other, err := pki.LoadOrCreateCA(t.TempDir(), "ca", "other")
		if err != nil {
			t.Fatal(err)
		}
		_, err = join.Join(context.Background(), join.Config{Server: s.Config.Host, Token: tok.String(), NodeName: "n1",
			DataDir: t.TempDir(), CACertHash: join.CAHash(other.Cert)})
		if err == nil || !strings.Contains(err.Error(), "does not match --ca-cert-hash") {
			t.Fatalf("err = %v", err)
		}
		_ = ca
	})
}

// TestBootstrapperAuthorization: a join token may create and read CSRs and nothing else.
func TestBootstrapperAuthorization(t *testing.T) {
	s, _ := startCluster(t)
	ctx := context.Background()
	tok := createToken(t, s.Client, time.Hour, time.Now())
	cfg := rest.AnonymousClientConfig(s.Config)
	cfg.BearerToken = tok.String()
	client := kubernetes.NewForConfigOrDie(cfg)
	u := whoamiErr(t, client)
	if !apierrors.IsForbidden(u) {
		t.Errorf("selfsubjectreview as bootstrapper: %v", u)
	}
	if _, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("list pods: %v, want 403", err)
	}
	if _, err := client.CoreV1().Secrets("kube-system").Get(ctx, bootstrap.SecretName(tok.ID), metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("get secret: %v, want 403", err)
	}
	if _, err := client.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("list csrs: %v", err)
	}
	// A request for someone else is created but not approved.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	req, err := certutil.MakeCSR(key, &pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	csr := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "sneaky"},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: req, SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
			// Spec user fields are the server's to set.
			Username: "system:admin", Groups: []string{"system:masters"}}}
	created, err := client.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create csr: %v", err)
	}
	if created.Spec.Username != "system:bootstrap:"+tok.ID || slices.Contains(created.Spec.Groups, "system:masters") {
		t.Fatalf("spec user %q %v", created.Spec.Username, created.Spec.Groups)
	}
	// Bootstrappers cannot approve.
	created.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}
	if _, err := client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, created.Name, created, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("approve: %v, want 403", err)
	}
	time.Sleep(2 * time.Second)
	got, err := s.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, "sneaky", metav1.GetOptions{})
	if err != nil || len(got.Status.Conditions) != 0 || len(got.Status.Certificate) != 0 {
		t.Fatalf("sneaky csr was acted on: %+v %v", got.Status, err)
	}
	// Invalid requests are refused with 422.
	bad := csr.DeepCopy()
	bad.Name, bad.Spec.Request, bad.Spec.SignerName = "bad", []byte("not pem"), ""
	_, err = client.CertificatesV1().CertificateSigningRequests().Create(ctx, bad, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.request") || !strings.Contains(err.Error(), "spec.signerName") {
		t.Fatalf("invalid csr: %v", err)
	}
}

func whoamiErr(t *testing.T, client kubernetes.Interface) error {
	_, err := client.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	return err
}

// TestServingCertificate: a node's own kubelet-serving request for its name and addresses is
// approved and signed; one for another address stays pending.
func TestServingCertificate(t *testing.T) {
	s, _ := startCluster(t)
	ctx := context.Background()
	tok := createToken(t, s.Client, time.Hour, time.Now())
	res, err := join.Join(ctx, join.Config{Server: s.Config.Host, Token: tok.String(), NodeName: "n1", DataDir: t.TempDir(), Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	nodeCfg, _ := clientcmd.BuildConfigFromFlags("", res.Kubeconfig)
	nodeClient := kubernetes.NewForConfigOrDie(nodeCfg)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "10.1.2.3"}, {Type: corev1.NodeHostName, Address: "n1.example"}}}}
	if _, err := nodeClient.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	request := func(name string, ips []net.IP) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		req, err := certutil.MakeCSR(key, &pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}, []string{"n1", "n1.example"}, ips)
		if err != nil {
			t.Fatal(err)
		}
		_, err = nodeClient.CertificatesV1().CertificateSigningRequests().Create(ctx, &certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: certificatesv1.CertificateSigningRequestSpec{Request: req, SignerName: certificatesv1.KubeletServingSignerName,
				Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	request("serving-ok", []net.IP{net.ParseIP("10.1.2.3")})
	request("serving-foreign", []net.IP{net.ParseIP("10.9.9.9")})
	var issued *certificatesv1.CertificateSigningRequest
	poll.Eventually(t, "serving certificate issued", func() error {
		var err error
		if issued, err = s.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, "serving-ok", metav1.GetOptions{}); err != nil {
			return err
		}
		if len(issued.Status.Certificate) == 0 {
			return fmt.Errorf("status %+v", issued.Status)
		}
		return nil
	})
	certs, err := certutil.ParseCertsPEM(issued.Status.Certificate)
	if err != nil || certs[0].Subject.CommonName != "system:node:n1" || len(certs[0].IPAddresses) != 1 {
		t.Fatalf("certificate %v %v", certs, err)
	}
	foreign, err := s.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, "serving-foreign", metav1.GetOptions{})
	if err != nil || len(foreign.Status.Conditions) != 0 {
		t.Fatalf("foreign serving request: %+v %v", foreign.Status, err)
	}
}
