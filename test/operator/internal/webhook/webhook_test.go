package webhook_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	webv1alpha1 "github.com/skiff-dev/skiff/test/operator/api/v1alpha1"
	webv1beta1 "github.com/skiff-dev/skiff/test/operator/api/v1beta1"
	websitewebhook "github.com/skiff-dev/skiff/test/operator/internal/webhook"
	"github.com/skiff-dev/skiff/test/poll"
	"github.com/skiff-dev/skiff/testenv"
)

// TestWebhooks serves the Website's webhooks from a manager in the test process and registers
// them by URL with a whole Skiff control plane: the mutating webhook labels, the validating one
// refuses with its field path, and the CRD converts between v1alpha1 and v1beta1 through the
// conversion webhook.
func TestWebhooks(t *testing.T) {
	env := testenv.Start(t, testenv.WithCRDs("../../config/crd"), testenv.WithoutControllers())
	ctx := context.Background()
	caPEM, certDir := selfSignedCert(t, "127.0.0.1")
	port := freePort(t)

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, webv1alpha1.AddToScheme, webv1beta1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{Scheme: scheme,
		Metrics:       metricsserver.Options{BindAddress: "0"},
		WebhookServer: webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: port, CertDir: certDir})})
	if err != nil {
		t.Fatal(err)
	}
	if err := websitewebhook.Setup(mgr); err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	started := mgr.GetWebhookServer().StartedChecker()
	deadline := time.Now().Add(30 * time.Second)
	for started(&http.Request{}) != nil {
		if time.Now().After(deadline) {
			t.Fatal("webhook server not started after 30s")
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}

	c, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	base := "https://127.0.0.1:" + strconv.Itoa(port)
	rules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{"web.example.com"}, APIVersions: []string{"v1alpha1"},
			Resources: []string{"websites"}}}}
	none := admissionregistrationv1.SideEffectClassNone
	mustCreate := func(o client.Object) {
		t.Helper()
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	mustCreate(&admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "website-test"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "mwebsite.web.example.com", Rules: rules, SideEffects: &none,
			AdmissionReviewVersions: []string{"v1"},
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: ptr.To(base + websitewebhook.MutatePath), CABundle: caPEM}}}})
	mustCreate(&admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "website-test"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "vwebsite.web.example.com", Rules: rules, SideEffects: &none,
			AdmissionReviewVersions: []string{"v1"},
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: ptr.To(base + websitewebhook.ValidatePath), CABundle: caPEM}}}})
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := c.Get(ctx, client.ObjectKey{Name: "websites.web.example.com"}, crd); err != nil {
		t.Fatal(err)
	}
	crd.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.WebhookConverter,
		Webhook: &apiextensionsv1.WebhookConversion{ConversionReviewVersions: []string{"v1"},
			ClientConfig: &apiextensionsv1.WebhookClientConfig{URL: ptr.To(base + websitewebhook.ConvertPath), CABundle: caPEM}}}
	if err := c.Update(ctx, crd); err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t)

	t.Run("validating webhook refuses with the field path", func(t *testing.T) {
		// The configuration takes effect once the API server's informer has it: retry.
		poll.Until(t, 30*time.Second, "validating webhook refusal", func() error {
			site := &webv1alpha1.Website{ObjectMeta: metav1.ObjectMeta{Name: "evil", Namespace: ns},
				Spec: webv1alpha1.WebsiteSpec{Content: "<SCRIPT>alert(1)</script>"}}
			err := c.Create(ctx, site)
			if err == nil {
				_ = c.Delete(ctx, site)
				return errString("created a website with a script")
			}
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.content: Forbidden: scripts are not allowed") {
				return err
			}
			if !strings.Contains(err.Error(), `admission webhook "vwebsite.web.example.com" denied the request`) {
				return err
			}
			return nil
		})
	})
	t.Run("mutating webhook labels", func(t *testing.T) {
		poll.Until(t, 30*time.Second, "mutating webhook label", func() error {
			site := &webv1alpha1.Website{ObjectMeta: metav1.ObjectMeta{GenerateName: "blog-", Namespace: ns},
				Spec: webv1alpha1.WebsiteSpec{Content: "<h1>hi</h1>"}}
			if err := c.Create(ctx, site); err != nil {
				return err
			}
			if got := site.Labels[websitewebhook.TierLabel]; got != "frontend" {
				return errString("tier label " + strconvQuote(got))
			}
			return nil
		})
	})
	t.Run("conversion webhook", func(t *testing.T) {
		poll.Until(t, 30*time.Second, "conversion through the webhook", func() error {
			v2 := &webv1beta1.Website{ObjectMeta: metav1.ObjectMeta{Name: "news", Namespace: ns},
				Spec: webv1beta1.WebsiteSpec{Page: "<p>news</p>"}}
			if err := c.Create(ctx, v2); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
			v1 := &webv1alpha1.Website{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "news"}, v1); err != nil {
				return err
			}
			if v1.Spec.Content != "<p>news</p>" || v1.Labels[websitewebhook.TierLabel] != "frontend" {
				return errString("v1alpha1 view: content " + strconvQuote(v1.Spec.Content) + " labels " + strconvQuote(v1.Labels[websitewebhook.TierLabel]))
			}
			back := &webv1beta1.Website{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "news"}, back); err != nil {
				return err
			}
			if back.Spec.Page != "<p>news</p>" {
				return errString("v1beta1 view: page " + strconvQuote(back.Spec.Page))
			}
			return nil
		})
	})
}

type errString string

func (e errString) Error() string { return string(e) }

func strconvQuote(s string) string { return strconv.Quote(s) }

// selfSignedCert writes a self-signed serving certificate for host as tls.crt/tls.key into a
// new directory and returns its PEM (the caBundle) and the directory.
func selfSignedCert(t *testing.T, host string) ([]byte, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.ParseIP(host)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM, dir
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
