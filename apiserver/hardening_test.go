package apiserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/apiserver/controlplane"
	"github.com/skiff-dev/skiff/apiserver/etcd"
	"github.com/skiff-dev/skiff/test/poll"
)

// etcdClient connects to the embedded etcd of the server on dataDir; the caller closes it.
func etcdClient(t *testing.T, dataDir string) *clientv3.Client {
	t.Helper()
	ci, err := etcd.ReadClientInfo(filepath.Join(dataDir, controlplane.ClientInfoFile))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ci.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.DialTimeout = 10 * time.Second
	cli, err := clientv3.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cli
}

// etcdGet reads a key straight from the server's embedded etcd.
func etcdGet(t *testing.T, dataDir, key string) []byte {
	t.Helper()
	cli := etcdClient(t, dataDir)
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatalf("etcd has %d values at %s", len(resp.Kvs), key)
	}
	return resp.Kvs[0].Value
}

// TestSecretsEncryptedAtRest: secrets are stored with the aescbc prefix and without their
// plaintext, read back in clear through the API, across a restart on the same data dir; other
// kinds stay unencrypted.
func TestSecretsEncryptedAtRest(t *testing.T) {
	dir := t.TempDir()
	s := apiservertest.StartOn(t, dir)
	ctx := context.Background()
	const plaintext = "s3cr3t-value-that-must-not-be-in-etcd"
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db"}, StringData: map[string]string{"password": plaintext}}
	if _, err := s.Client.CoreV1().Secrets("default").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Client.CoreV1().Secrets("default").Get(ctx, "db", metav1.GetOptions{}); err != nil || string(got.Data["password"]) != plaintext {
		t.Fatalf("secret reads %v (data %q, stringData %q)", err, got.Data, got.StringData)
	}
	raw := etcdGet(t, dir, "/registry/secrets/default/db")
	if !bytes.HasPrefix(raw, []byte("k8s:enc:aescbc:v1:key1:")) {
		t.Fatalf("stored secret starts with %q, want the k8s:enc:aescbc:v1:key1: prefix", raw[:min(len(raw), 30)])
	}
	if bytes.Contains(raw, []byte(plaintext)) {
		t.Fatal("stored secret contains its plaintext")
	}
	if _, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "plain"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if raw := etcdGet(t, dir, "/registry/configmaps/default/plain"); !bytes.HasPrefix(raw, []byte("k8s\x00")) {
		t.Errorf("configmap stored as %q..., want unencrypted protobuf", raw[:min(len(raw), 8)])
	}
	cfg, err := os.Stat(filepath.Join(dir, "encryption-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Mode().Perm() != 0o600 {
		t.Errorf("encryption-config.yaml mode %v, want 0600", cfg.Mode().Perm())
	}

	s.Stop()
	s = apiservertest.StartOn(t, dir)
	got, err := s.Client.CoreV1().Secrets("default").Get(ctx, "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data["password"]) != plaintext {
		t.Fatalf("after restart the secret reads %q", got.Data["password"])
	}
}

func readAudit(t *testing.T, path string) []auditv1.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var events []auditv1.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e auditv1.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		if e.Kind != "Event" || e.APIVersion != "audit.k8s.io/v1" {
			t.Fatalf("audit line is %s %s", e.APIVersion, e.Kind)
		}
		events = append(events, e)
	}
	return events
}

func findAudit(t *testing.T, path string, match func(e *auditv1.Event) bool) *auditv1.Event {
	t.Helper()
	var found *auditv1.Event
	poll.Until(t, 10*time.Second, "a matching audit event", func() error {
		events := readAudit(t, path)
		for i := range events {
			if match(&events[i]) {
				found = &events[i]
				return nil
			}
		}
		return fmt.Errorf("no matching audit event among %d", len(events))
	})
	return found
}

// TestAuditLogDefaultPolicy: with only --audit-log-path, every request is logged at Metadata
// level as kube-apiserver writes it.
func TestAuditLogDefaultPolicy(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "audit", "audit.log")
	s := apiservertest.StartWith(t, func(o *apiserver.Options) { o.Hardening.AuditLogPath = logPath })
	ctx := context.Background()
	if _, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "audited"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e := findAudit(t, logPath, func(e *auditv1.Event) bool {
		return e.Verb == "create" && e.ObjectRef != nil && e.ObjectRef.Resource == "configmaps" && e.ObjectRef.Name == "audited"
	})
	if e.Level != auditv1.LevelMetadata || e.Stage != auditv1.StageResponseComplete {
		t.Errorf("level %s stage %s, want Metadata ResponseComplete", e.Level, e.Stage)
	}
	if e.User.Username != "skiff-admin" || e.ObjectRef.Namespace != "default" || e.ObjectRef.APIVersion != "v1" {
		t.Errorf("user %q objectRef %+v", e.User.Username, e.ObjectRef)
	}
	if e.ResponseStatus == nil || e.ResponseStatus.Code != 201 || e.RequestURI != "/api/v1/namespaces/default/configmaps" || e.AuditID == "" {
		t.Errorf("responseStatus %+v requestURI %q auditID %q", e.ResponseStatus, e.RequestURI, e.AuditID)
	}
	if e.RequestObject != nil || e.ResponseObject != nil {
		t.Error("Metadata level logged a body")
	}
	// A refused request is recorded with its status too.
	_, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "audited"}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create: %v", err)
	}
	findAudit(t, logPath, func(e *auditv1.Event) bool {
		return e.Verb == "create" && e.ObjectRef != nil && e.ObjectRef.Name == "audited" && e.ResponseStatus != nil && e.ResponseStatus.Code == 409
	})
}

// TestAuditLogPolicyFile: --audit-policy-file decides levels per resource.
func TestAuditLogPolicyFile(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  resources:
  - group: ""
    resources: ["configmaps"]
- level: Request
  resources:
  - group: ""
    resources: ["secrets"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "audit.log")
	s := apiservertest.StartWith(t, func(o *apiserver.Options) {
		o.Hardening.AuditLogPath, o.Hardening.AuditPolicyFile = logPath, policy
	})
	ctx := context.Background()
	if _, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "quiet"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "loud"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e := findAudit(t, logPath, func(e *auditv1.Event) bool {
		return e.Verb == "create" && e.ObjectRef != nil && e.ObjectRef.Resource == "secrets" && e.ObjectRef.Name == "loud"
	})
	if e.Level != auditv1.LevelRequest || e.RequestObject == nil || !strings.Contains(string(e.RequestObject.Raw), `"loud"`) {
		t.Errorf("secret event level %s requestObject %v", e.Level, e.RequestObject)
	}
	for _, e := range readAudit(t, logPath) {
		if e.ObjectRef != nil && e.ObjectRef.Resource == "configmaps" {
			t.Errorf("configmaps are at level None but were logged: %s %s", e.Verb, e.RequestURI)
		}
	}
}

// TestRequestSizeLimits: bodies over 3 MiB get 413; objects over etcd's 1.5 MiB request limit
// are refused without being stored.
func TestRequestSizeLimits(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	big := strings.Repeat("x", 4<<20)
	_, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "huge"}, Data: map[string]string{"k": big}}, metav1.CreateOptions{})
	if !apierrors.IsRequestEntityTooLargeError(err) {
		t.Fatalf("4 MiB body: got %v, want 413", err)
	}
	t.Logf("4 MiB body: %v", err)

	// 1.6 MiB of pod env: under the body limit, over etcd's 1.5 MiB request limit. Like
	// kube-apiserver, the server retries without managedFields, then answers etcd's own error.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "fat"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "c", Image: "busybox", Env: []corev1.EnvVar{{Name: "BIG", Value: strings.Repeat("y", 1600<<10)}}}}}}
	_, err = s.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), "etcdserver: request is too large") {
		t.Fatalf("1.6 MiB object: got %v, want etcd's request is too large", err)
	}
	t.Logf("1.6 MiB object: %v", err)
	if _, err := s.Client.CoreV1().Pods("default").Get(ctx, "fat", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get fat pod: %v", err)
	}
}
