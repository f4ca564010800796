package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// testAdmission deploys test/operator's manager (a controller-runtime operator whose webhook
// server takes its certificate from a kubernetes.io/tls Secret) into the cluster and registers
// its webhooks by Service, as kubebuilder's scaffold does: the validating webhook refuses a
// Website with its field path, the mutating one labels, and the CRD's second version converts
// through the conversion webhook. Then a ValidatingAdmissionPolicy refuses a Deployment with too
// many replicas, and a namespace labelled enforce=restricted refuses a privileged pod, each with
// upstream's message.
func testAdmission(t *testing.T, s *skiff, dataDir string) {
	ns := s.namespace(t)
	const svc = "website-webhook"
	t.Cleanup(func() {
		// Cluster-scoped pieces go first: nothing else in the cluster may call a webhook that
		// is being deleted.
		s.kubectl(t, "delete", "mutatingwebhookconfiguration,validatingwebhookconfiguration", "website-webhook", "--ignore-not-found")
		s.kubectl(t, "delete", "validatingadmissionpolicy,validatingadmissionpolicybinding", "max-replicas", "--ignore-not-found")
		s.kubectl(t, "delete", "crd", "websites.web.example.com", "--ignore-not-found", "--timeout=60s")
		s.kubectl(t, "delete", "clusterrole,clusterrolebinding", "website-operator", "--ignore-not-found")
		s.kubectl(t, "delete", "namespace", ns, "--timeout=60s")
	})

	t.Run("operator with webhooks in the cluster", func(t *testing.T) {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("operator's log:\n%s", s.kubectl(t, "logs", "deployment/website-operator", "-n", ns, "--tail=40"))
			}
		})
		image := buildOperatorImage(t, dataDir)
		caPEM, certPEM, keyPEM := webhookCert(t, svc+"."+ns+".svc")
		certFile, keyFile := filepath.Join(t.TempDir(), "tls.crt"), filepath.Join(t.TempDir(), "tls.key")
		if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		s.ok(t, "create", "secret", "tls", "webhook-tls", "-n", ns, "--cert="+certFile, "--key="+keyFile)
		s.ok(t, "apply", "-f", filepath.Join(moduleRoot(), "test/operator/config/crd/web.example.com_websites.yaml"))
		s.okIn(t, operatorManifest(ns, svc, image), "apply", "-f", "-")
		s.ok(t, "rollout", "status", "deployment/website-operator", "-n", ns, "--timeout=120s")
		caBundle := base64.StdEncoding.EncodeToString(caPEM)
		s.okIn(t, webhookManifest(ns, svc, caBundle), "apply", "-f", "-")
		// The CRD converts between its versions through the operator's /convert.
		s.ok(t, "patch", "crd", "websites.web.example.com", "--type=merge", "-p", fmt.Sprintf(
			`{"spec":{"conversion":{"strategy":"Webhook","webhook":{"conversionReviewVersions":["v1"],"clientConfig":{"caBundle":%q,"service":{"namespace":%q,"name":%q,"path":"/convert"}}}}}}`,
			caBundle, ns, svc))

		// The configuration reaches the admission chain through an informer: retry until it
		// refuses. kubectl prints a 422 by its causes; the API's message says who refused.
		dyn := dynamic.NewForConfigOrDie(s.restConfig(t))
		websites := dyn.Resource(schema.GroupVersionResource{Group: "web.example.com", Version: "v1alpha1", Resource: "websites"}).Namespace(ns)
		evil := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "web.example.com/v1alpha1", "kind": "Website",
			"metadata": map[string]any{"name": "evil"}, "spec": map[string]any{"content": "<script>alert(1)</script>"}}}
		var refusal error
		eventually(t, 60*time.Second, func() error {
			_, refusal = websites.Create(context.Background(), evil, metav1.CreateOptions{})
			if refusal == nil {
				_ = websites.Delete(context.Background(), "evil", metav1.DeleteOptions{})
				return fmt.Errorf("a Website with a script was admitted")
			}
			if !strings.Contains(refusal.Error(), "denied the request") {
				return fmt.Errorf("not refused by the webhook yet: %w", refusal)
			}
			return nil
		})
		want := `admission webhook "vwebsite.web.example.com" denied the request: Website.web.example.com "evil" is invalid: spec.content: Forbidden: scripts are not allowed in a website's page`
		if !apierrors.IsInvalid(refusal) || refusal.Error() != want {
			t.Errorf("refusal: %v\nwant 422 %s", refusal, want)
		}
		stderr := s.fails(t, website("evil", "v1alpha1", "content", "<script>alert(1)</script>"), "apply", "-n", ns, "-f", "-")
		if want := `The Website "evil" is invalid: spec.content: Forbidden: scripts are not allowed in a website's page`; !strings.Contains(stderr, want) {
			t.Errorf("kubectl apply: %s\nwant %s", stderr, want)
		}

		s.okIn(t, website("blog", "v1alpha1", "content", "<h1>hello</h1>"), "apply", "-n", ns, "-f", "-")
		if got := s.ok(t, "get", "website", "blog", "-n", ns, "-o", `jsonpath={.metadata.labels.web\.example\.com/tier}`); got != "frontend" {
			t.Errorf("tier label set by the mutating webhook: %q, want frontend", got)
		}
		// v1beta1 is served through the conversion webhook: written as page, read as content.
		s.okIn(t, website("news", "v1beta1", "page", "<p>news</p>"), "apply", "-n", ns, "-f", "-")
		if got := s.ok(t, "get", "websites.v1alpha1.web.example.com", "news", "-n", ns, "-o", "jsonpath={.spec.content}"); got != "<p>news</p>" {
			t.Errorf("v1alpha1 view of a v1beta1 Website: content %q", got)
		}
		if got := s.ok(t, "get", "websites.v1beta1.web.example.com", "blog", "-n", ns, "-o", "jsonpath={.spec.page}"); got != "<h1>hello</h1>" {
			t.Errorf("v1beta1 view of a v1alpha1 Website: page %q", got)
		}
		// The operator reconciles it: the Website's Deployment appears, owned by it.
		eventually(t, 60*time.Second, func() error {
			r := s.kubectl(t, "get", "deployment", "blog", "-n", ns, "-o", "jsonpath={.metadata.ownerReferences[0].kind}")
			if r.err != nil || r.stdout != "Website" {
				return fmt.Errorf("deployment blog: %v", r)
			}
			return nil
		})
	})

	t.Run("validating admission policy", func(t *testing.T) {
		s.okIn(t, `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: max-replicas}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  validations:
  - expression: object.spec.replicas <= 5
    message: at most 5 replicas
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: max-replicas}
spec:
  policyName: max-replicas
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {kubernetes.io/metadata.name: `+ns+`}
`, "apply", "-f", "-")
		var stderr string
		eventually(t, 60*time.Second, func() error {
			r := s.kubectl(t, "create", "deployment", "big", "-n", ns, "--image=busybox", "--replicas=6")
			if r.err == nil {
				s.kubectl(t, "delete", "deployment", "big", "-n", ns)
				return fmt.Errorf("a Deployment with 6 replicas was admitted")
			}
			stderr = r.stderr
			if !strings.Contains(stderr, "ValidatingAdmissionPolicy") {
				return fmt.Errorf("not refused by the policy yet: %s", stderr)
			}
			return nil
		})
		want := `deployments.apps "big" is forbidden: ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas' denied request: at most 5 replicas`
		if !strings.Contains(stderr, want) {
			t.Errorf("refusal:\n%s\nwant it to contain:\n%s", stderr, want)
		}
		s.ok(t, "create", "deployment", "small", "-n", ns, "--image=busybox", "--replicas=0")
		// A policy whose CEL does not compile is refused at its field path.
		stderr = s.fails(t, `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: broken}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations:
  - expression: object.spec.replicas <=
`, "apply", "-f", "-")
		if !strings.Contains(stderr, "spec.validations[0].expression: Invalid value") {
			t.Errorf("broken policy: %s", stderr)
		}
	})

	t.Run("pod security restricted", func(t *testing.T) {
		s.ok(t, "label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
		stderr := s.fails(t, `apiVersion: v1
kind: Pod
metadata: {name: priv}
spec:
  containers:
  - name: c
    image: busybox
    securityContext: {privileged: true}
`, "apply", "-n", ns, "-f", "-")
		want := `pods "priv" is forbidden: violates PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true)`
		if !strings.Contains(stderr, want) {
			t.Errorf("privileged pod:\n%s\nwant it to contain:\n%s", stderr, want)
		}
	})
}

// buildOperatorImage puts test/operator's manager (built by operatorBinary) into an image with
// `skiff image build` and returns its reference.
func buildOperatorImage(t *testing.T, dataDir string) string {
	t.Helper()
	began := time.Now()
	bin, err := operatorBinary.wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("operator binary waited for %v", time.Since(began).Round(time.Second))
	root := filepath.Join(t.TempDir(), "rootfs")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(bin, filepath.Join(root, "manager")); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(runSkiff(t, "image", "build", "--data-dir", dataDir, "--entrypoint=/manager", root, "e2e/website-operator:v1"))
}

// operatorBinary is test/operator's manager as a static binary. TestMain starts building it
// in the background at the lowest priority (a cold build of controller-runtime takes minutes
// on two cores) when the tests that need it may run, so it is ready by the time they do.
var operatorBinary backgroundBuild

type backgroundBuild struct {
	once sync.Once
	done chan struct{}
	path string
	err  error
}

// start builds into dir once.
func (b *backgroundBuild) start(dir string) {
	b.once.Do(func() {
		b.done = make(chan struct{})
		go func() {
			defer close(b.done)
			b.path = filepath.Join(dir, "manager")
			cmd := exec.Command("nice", "-n", "19", "go", "build", "-trimpath", "-ldflags=-s", "-o", b.path, "./cmd/manager")
			cmd.Dir = filepath.Join(moduleRoot(), "test", "operator")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.err = fmt.Errorf("building the operator: %w\n%s", err, out)
			}
		}()
	})
}

// wait returns the binary, starting its build now if TestMain did not.
func (b *backgroundBuild) wait() (string, error) {
	b.start(operatorBuildDir)
	<-b.done
	return b.path, b.err
}

// webhookCert returns a CA's certificate and a serving certificate and key it signed for dnsName.
func webhookCert(t *testing.T, dnsName string) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, key := newKey(), newKey()
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e-webhook-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: dnsName}, DNSNames: []string{dnsName},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// operatorManifest is the operator's deployment as kubebuilder's config/ lays it out: a service
// account with its cluster role, the manager with the webhook certificate's Secret mounted, and
// the webhook Service.
func operatorManifest(ns, svc, image string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ServiceAccount
metadata: {name: website-operator, namespace: %[1]s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: website-operator}
rules:
- {apiGroups: [web.example.com], resources: [websites, websites/status], verbs: [get, list, watch, update, patch]}
- {apiGroups: [apps], resources: [deployments], verbs: [get, list, watch, create, update, patch, delete]}
- {apiGroups: [""], resources: [services, configmaps], verbs: [get, list, watch, create, update, patch, delete]}
- {apiGroups: ["", events.k8s.io], resources: [events], verbs: [create, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: website-operator}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: website-operator}
subjects: [{kind: ServiceAccount, name: website-operator, namespace: %[1]s}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: website-operator, namespace: %[1]s}
spec:
  selector: {matchLabels: {app: website-operator}}
  template:
    metadata: {labels: {app: website-operator}}
    spec:
      serviceAccountName: website-operator
      terminationGracePeriodSeconds: 1
      containers:
      - name: manager
        image: %[3]s
        args: [--cert-dir=/tls, --webhook-port=9443]
        ports: [{name: webhook, containerPort: 9443}]
        readinessProbe: {tcpSocket: {port: 9443}, periodSeconds: 1}
        volumeMounts: [{name: tls, mountPath: /tls, readOnly: true}]
      volumes:
      - name: tls
        secret: {secretName: webhook-tls}
---
apiVersion: v1
kind: Service
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  selector: {app: website-operator}
  ports: [{port: 443, targetPort: webhook}]
`, ns, svc, image)
}

// webhookManifest registers the operator's webhooks by Service reference with caBundle (what
// kubebuilder's kustomize patches and cert-manager's CA injection do).
func webhookManifest(ns, svc, caBundle string) string {
	ref := func(path string) string {
		return fmt.Sprintf("{service: {namespace: %s, name: %s, path: %s}, caBundle: %s}", ns, svc, path, caBundle)
	}
	rules := "[{apiGroups: [web.example.com], apiVersions: [v1alpha1], operations: [CREATE, UPDATE], resources: [websites]}]"
	return fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: website-webhook}
webhooks:
- name: mwebsite.web.example.com
  clientConfig: %[1]s
  rules: %[3]s
  sideEffects: None
  admissionReviewVersions: [v1]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: website-webhook}
webhooks:
- name: vwebsite.web.example.com
  clientConfig: %[2]s
  rules: %[3]s
  sideEffects: None
  admissionReviewVersions: [v1]
`, ref("/mutate-web-example-com-v1alpha1-website"), ref("/validate-web-example-com-v1alpha1-website"), rules)
}

// website is a Website of apiVersion web.example.com/<version> with its page in field.
func website(name, version, field, page string) string {
	return fmt.Sprintf("apiVersion: web.example.com/%s\nkind: Website\nmetadata: {name: %s}\nspec: {%s: %q}\n", version, name, field, page)
}
