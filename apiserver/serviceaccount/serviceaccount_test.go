package serviceaccount

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authentication/authenticator"
)

// objects is an in-memory Getter: the authenticator's own checks are under test here; the
// TokenRequest integration test runs them against the real API.
type objects struct {
	sas  map[string]*corev1.ServiceAccount
	pods map[string]*corev1.Pod
}

func notFound(r, name string) error {
	return apierrors.NewNotFound(schema.GroupResource{Resource: r}, name)
}

func (o *objects) ServiceAccount(_ context.Context, ns, name string, _ types.UID) (*corev1.ServiceAccount, error) {
	if sa, ok := o.sas[ns+"/"+name]; ok {
		return sa, nil
	}
	return nil, notFound("serviceaccounts", name)
}

func (o *objects) Pod(_ context.Context, ns, name string, _ types.UID) (*corev1.Pod, error) {
	if p, ok := o.pods[ns+"/"+name]; ok {
		return p, nil
	}
	return nil, notFound("pods", name)
}

func (o *objects) Secret(_ context.Context, _, name string, _ types.UID) (*corev1.Secret, error) {
	return nil, notFound("secrets", name)
}

func (o *objects) Node(_ context.Context, name string, _ types.UID) (*corev1.Node, error) {
	return nil, notFound("nodes", name)
}

func TestKeyKeptAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) {
		t.Fatal("a second load generated a new key")
	}
	pub, err := os.ReadFile(filepath.Join(dir, PubKeyFile))
	if err != nil || !strings.Contains(string(pub), "PUBLIC KEY") {
		t.Fatalf("sa.pub: %q, %v", pub, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("sa.key mode: %v, %v", fi, err)
	}
}

func TestAuthenticateToken(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns1", Name: "builder", UID: "sa-uid"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns1", Name: "web", UID: "pod-uid"}, Spec: corev1.PodSpec{NodeName: "n1"}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "node-uid"}}
	signer, err := NewSigner(DefaultIssuer, key, clock)
	if err != nil {
		t.Fatal(err)
	}
	otherSigner, _ := NewSigner(DefaultIssuer, other, clock)
	foreign, _ := NewSigner("https://elsewhere", key, clock)
	issue := func(s *Signer, b Binding, auds []string, d time.Duration) string {
		tok, exp, err := s.Issue(b, auds, d, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if !exp.Equal(now.Add(d)) {
			t.Fatalf("expiry %v, want %v", exp, now.Add(d))
		}
		return tok
	}
	api := []string{DefaultIssuer}
	podBound := issue(signer, Binding{ServiceAccount: sa, Pod: pod, Node: node}, api, time.Hour)

	cases := []struct {
		name      string
		token     string
		at        time.Duration // time after issue
		deletePod bool
		recreate  bool // the service account is recreated with another UID
		ok        bool
		err       string
	}{
		{name: "valid pod-bound token", token: podBound, ok: true},
		{name: "plain token", token: issue(signer, Binding{ServiceAccount: sa}, api, time.Hour), ok: true},
		{name: "within leeway after expiry", token: podBound, at: time.Hour + 30*time.Second, ok: true},
		{name: "expired", token: podBound, at: time.Hour + 2*time.Minute, err: "service account token has expired"},
		{name: "wrong audience", token: issue(signer, Binding{ServiceAccount: sa}, []string{"vault"}, time.Hour), err: `token audiences ["vault"] is invalid for the target audiences ["` + DefaultIssuer + `"]`},
		{name: "deleted pod", token: podBound, deletePod: true, err: "pod ns1/web has been deleted"},
		{name: "recreated service account", token: podBound, recreate: true, err: "service account UID (new-uid) does not match claim (sa-uid)"},
		{name: "signed by another key", token: issue(otherSigner, Binding{ServiceAccount: sa}, api, time.Hour), err: "could not be verified"},
		{name: "another issuer is left to other authenticators", token: issue(foreign, Binding{ServiceAccount: sa}, api, time.Hour)},
		{name: "not a JWT", token: "abcdef.0123456789abcdef"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs := &objects{sas: map[string]*corev1.ServiceAccount{"ns1/builder": sa}, pods: map[string]*corev1.Pod{"ns1/web": pod}}
			if c.deletePod {
				delete(objs.pods, "ns1/web")
			}
			if c.recreate {
				again := sa.DeepCopy()
				again.UID = "new-uid"
				objs.sas["ns1/builder"] = again
			}
			at := now.Add(c.at)
			a := NewAuthenticator(DefaultIssuer, []*rsa.PublicKey{&key.PublicKey}, api, objs, func() time.Time { return at })
			resp, ok, err := a.AuthenticateToken(context.Background(), c.token)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil || ok != c.ok {
				t.Fatalf("ok %v err %v, want ok %v", ok, err, c.ok)
			}
			if !ok {
				return
			}
			u := resp.User
			if u.GetName() != "system:serviceaccount:ns1:builder" || u.GetUID() != "sa-uid" {
				t.Errorf("user %q uid %q", u.GetName(), u.GetUID())
			}
			if g := u.GetGroups(); len(g) != 2 || g[0] != "system:serviceaccounts" || g[1] != "system:serviceaccounts:ns1" {
				t.Errorf("groups %v", g)
			}
			if !strings.HasPrefix(u.GetExtra()[CredentialIDKey][0], "JTI=") {
				t.Errorf("extra %v has no credential id", u.GetExtra())
			}
			if c.token == podBound {
				ex := u.GetExtra()
				if ex[PodNameKey][0] != "web" || ex[PodUIDKey][0] != "pod-uid" || ex[NodeNameKey][0] != "n1" || ex[NodeUIDKey][0] != "node-uid" {
					t.Errorf("extra %v", ex)
				}
			}
		})
	}
}

func TestRequestAudiencesTakePrecedence(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	signer, _ := NewSigner(DefaultIssuer, key, nil)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "b", UID: "u"}}
	tok, _, _ := signer.Issue(Binding{ServiceAccount: sa}, []string{"api"}, time.Hour, time.Time{})
	a := NewAuthenticator(DefaultIssuer, []*rsa.PublicKey{&key.PublicKey}, []string{"other"}, &objects{sas: map[string]*corev1.ServiceAccount{"a/b": sa}}, nil)
	ctx := authenticator.WithAudiences(context.Background(), authenticator.Audiences{"api"})
	resp, ok, err := a.AuthenticateToken(ctx, tok)
	if err != nil || !ok || resp.Audiences[0] != "api" {
		t.Fatalf("resp %+v ok %v err %v", resp, ok, err)
	}
}

func TestDiscoveryDocuments(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	cfg, jwks, err := DiscoveryHandlers(DefaultIssuer, "https://10.0.0.1:6443", []*rsa.PublicKey{&key.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	cfg.ServeHTTP(rec, httptest.NewRequest("GET", OpenIDConfigPath, nil))
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["issuer"] != DefaultIssuer || doc["jwks_uri"] != "https://10.0.0.1:6443/openid/v1/jwks" {
		t.Errorf("config %v", doc)
	}
	rec = httptest.NewRecorder()
	jwks.ServeHTTP(rec, httptest.NewRequest("GET", JWKSPath, nil))
	kid, _ := KeyID(&key.PublicKey)
	if ct := rec.Header().Get("Content-Type"); ct != "application/jwk-set+json" || !strings.Contains(rec.Body.String(), `"kid":"`+kid+`"`) {
		t.Errorf("jwks %s: %s", ct, rec.Body.String())
	}
}

func TestSplitUserName(t *testing.T) {
	for in, want := range map[string][2]string{
		"system:serviceaccount:ns:sa": {"ns", "sa"},
		"system:serviceaccount:ns":    {},
		"system:serviceaccount::sa":   {},
		"alice":                       {},
		"system:serviceaccount:a:b:c": {},
	} {
		ns, name, ok := SplitUserName(in)
		if ok != (want[0] != "") || ns != want[0] || name != want[1] {
			t.Errorf("%q: %q %q %v", in, ns, name, ok)
		}
	}
}

// secretObjects adds Secrets to objects, for legacy tokens.
type secretObjects struct {
	*objects
	secrets map[string]*corev1.Secret
}

func (o *secretObjects) Secret(_ context.Context, ns, name string, _ types.UID) (*corev1.Secret, error) {
	if s, ok := o.secrets[ns+"/"+name]; ok {
		return s, nil
	}
	return nil, notFound("secrets", name)
}

func TestLegacySecretTokens(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	signer, _ := NewSigner(DefaultIssuer, key, nil)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "robot", UID: "sa-uid"}}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "robot-token"}}
	tok, err := signer.IssueLegacy(sa, secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		stored string
		err    string
	}{
		{name: "held by its secret", stored: tok},
		{name: "secret holds another token", stored: "other", err: "token does not match the one in secret ns/robot-token"},
		{name: "secret deleted", err: "secret ns/robot-token has been deleted"},
	} {
		t.Run(c.name, func(t *testing.T) {
			objs := &secretObjects{objects: &objects{sas: map[string]*corev1.ServiceAccount{"ns/robot": sa}}, secrets: map[string]*corev1.Secret{}}
			if c.stored != "" {
				s := secret.DeepCopy()
				s.Data = map[string][]byte{"token": []byte(c.stored)}
				objs.secrets["ns/robot-token"] = s
			}
			a := NewAuthenticator(DefaultIssuer, []*rsa.PublicKey{&key.PublicKey}, []string{DefaultIssuer}, objs, nil)
			resp, ok, err := a.AuthenticateToken(context.Background(), tok)
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || !ok || resp.User.GetName() != "system:serviceaccount:ns:robot" || resp.User.GetUID() != "sa-uid" {
				t.Fatalf("resp %+v ok %v err %v", resp, ok, err)
			}
		})
	}
}
