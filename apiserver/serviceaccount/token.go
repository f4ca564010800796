package serviceaccount

import (
	"crypto/rsa"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
)

// Defaults after kube-apiserver.
const (
	// DefaultIssuer is --service-account-issuer's default in Skiff (kubeadm's value).
	DefaultIssuer = "https://kubernetes.default.svc.cluster.local"
	// WarnOnlyBoundTokenExpirationSeconds is the expirationSeconds the ServiceAccount admission
	// plugin gives projected tokens; tokens asked for with it (bound to a pod, for the API's own
	// audiences) are valid for ExtendedExpiration but carry a warnafter claim, as upstream's
	// --service-account-extend-token-expiration does.
	WarnOnlyBoundTokenExpirationSeconds = 3607
	// ExtendedExpiration is the validity of such tokens (one year).
	ExtendedExpiration = 365 * 24 * time.Hour
	// MinExpirationSeconds is the shortest TokenRequest (10 minutes).
	MinExpirationSeconds = 600
	// DefaultExpirationSeconds is TokenRequest's default (one hour).
	DefaultExpirationSeconds = 3600
	// ServiceAccountUsernamePrefix and the groups of service account users.
	ServiceAccountUsernamePrefix = "system:serviceaccount:"
	AllServiceAccountsGroup      = "system:serviceaccounts"
	ServiceAccountGroupPrefix    = "system:serviceaccounts:"
)

// Extra keys of a service account user, as upstream.
const (
	PodNameKey      = "authentication.kubernetes.io/pod-name"
	PodUIDKey       = "authentication.kubernetes.io/pod-uid"
	NodeNameKey     = "authentication.kubernetes.io/node-name"
	NodeUIDKey      = "authentication.kubernetes.io/node-uid"
	CredentialIDKey = "authentication.kubernetes.io/credential-id"
)

// UserName is system:serviceaccount:<namespace>:<name>.
func UserName(namespace, name string) string {
	return ServiceAccountUsernamePrefix + namespace + ":" + name
}

// SplitUserName returns the namespace and name of a service account user name.
func SplitUserName(user string) (namespace, name string, ok bool) {
	rest, found := strings.CutPrefix(user, ServiceAccountUsernamePrefix)
	if !found {
		return "", "", false
	}
	namespace, name, ok = strings.Cut(rest, ":")
	if !ok || namespace == "" || name == "" || strings.Contains(name, ":") {
		return "", "", false
	}
	return namespace, name, true
}

// Groups are the groups of a service account user.
func Groups(namespace string) []string {
	return []string{AllServiceAccountsGroup, ServiceAccountGroupPrefix + namespace}
}

type ref struct {
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

type kubernetesClaims struct {
	Namespace string           `json:"namespace,omitempty"`
	SvcAcct   ref              `json:"serviceaccount,omitempty"`
	Pod       *ref             `json:"pod,omitempty"`
	Secret    *ref             `json:"secret,omitempty"`
	Node      *ref             `json:"node,omitempty"`
	WarnAfter *jwt.NumericDate `json:"warnafter,omitempty"`
}

type privateClaims struct {
	Kubernetes kubernetesClaims `json:"kubernetes.io"`
}

// Binding is what a token is issued for: always a ServiceAccount, and at most one of a Pod or
// a Secret it is bound to (the Pod's Node, when set, is recorded too), or a Node.
type Binding struct {
	ServiceAccount *corev1.ServiceAccount
	Pod            *corev1.Pod
	Secret         *corev1.Secret
	Node           *corev1.Node
}

// Signer issues service account tokens.
type Signer struct {
	issuer string
	signer jose.Signer
	now    func() time.Time
}

// NewSigner signs RS256 tokens for issuer with key (header kid: KeyID of its public half).
func NewSigner(issuer string, key *rsa.PrivateKey, now func() time.Time) (*Signer, error) {
	if issuer == "" {
		return nil, fmt.Errorf("the service account issuer must not be empty")
	}
	kid, err := KeyID(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("creating the token signer: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &Signer{issuer: issuer, signer: s, now: now}, nil
}

// Issuer is the iss claim of the tokens.
func (s *Signer) Issuer() string { return s.issuer }

// Issue signs a token for b, valid for audiences until now+validity. warnAfter, when not zero,
// adds the warnafter claim (an extended token's nominal expiry). It returns the token and its
// expiry.
func (s *Signer) Issue(b Binding, audiences []string, validity time.Duration, warnAfter time.Time) (string, time.Time, error) {
	sa := b.ServiceAccount
	if sa == nil {
		return "", time.Time{}, fmt.Errorf("no service account to issue a token for")
	}
	now := s.now()
	exp := now.Add(validity)
	pc := privateClaims{Kubernetes: kubernetesClaims{
		Namespace: sa.Namespace,
		SvcAcct:   ref{Name: sa.Name, UID: string(sa.UID)},
	}}
	if b.Pod != nil {
		pc.Kubernetes.Pod = &ref{Name: b.Pod.Name, UID: string(b.Pod.UID)}
	}
	if b.Secret != nil {
		pc.Kubernetes.Secret = &ref{Name: b.Secret.Name, UID: string(b.Secret.UID)}
	}
	if b.Node != nil {
		pc.Kubernetes.Node = &ref{Name: b.Node.Name, UID: string(b.Node.UID)}
	}
	if !warnAfter.IsZero() {
		pc.Kubernetes.WarnAfter = jwt.NewNumericDate(warnAfter)
	}
	std := jwt.Claims{
		Issuer:    s.issuer,
		Subject:   UserName(sa.Namespace, sa.Name),
		Audience:  jwt.Audience(audiences),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		Expiry:    jwt.NewNumericDate(exp),
		ID:        uuid.NewString(),
	}
	tok, err := jwt.Signed(s.signer).Claims(std).Claims(pc).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("signing the token: %w", err)
	}
	return tok, exp, nil
}
