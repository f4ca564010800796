package bootstrap

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Names and keys of bootstrap-token Secrets, as k8s.io/cluster-bootstrap/token/api defines them.
const (
	// SecretTypeBootstrapToken is the Secret type of join tokens.
	SecretTypeBootstrapToken corev1.SecretType = "bootstrap.kubernetes.io/token"
	// SecretPrefix prefixes the Secret's name: bootstrap-token-<id>.
	SecretPrefix = "bootstrap-token-"
	// Namespace holds the token Secrets.
	Namespace = metav1.NamespaceSystem

	KeyTokenID      = "token-id"
	KeyTokenSecret  = "token-secret"
	KeyExpiration   = "expiration"
	KeyDescription  = "description"
	KeyExtraGroups  = "auth-extra-groups"
	KeyUsagePrefix  = "usage-bootstrap-"
	KeyUsageAuth    = KeyUsagePrefix + "authentication"
	KeyUsageSigning = KeyUsagePrefix + "signing"

	// UserPrefix prefixes the authenticated user: system:bootstrap:<id>.
	UserPrefix = "system:bootstrap:"
	// Group is the group every bootstrap-token user is in.
	Group = "system:bootstrappers"
	// DefaultNodeGroup is the extra group of node join tokens, as kubeadm names it
	// (system:bootstrappers:kubeadm:default-node-token).
	DefaultNodeGroup = "system:bootstrappers:skiff:default-node-token"
)

// Token formats, as upstream's bootstrap token API.
var (
	tokenRE       = regexp.MustCompile(`^([a-z0-9]{6})\.([a-z0-9]{16})$`)
	tokenIDRE     = regexp.MustCompile(`^[a-z0-9]{6}$`)
	extraGroupsRE = regexp.MustCompile(`^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$`)
)

const tokenChars = "0123456789abcdefghijklmnopqrstuvwxyz"

// Token is a parsed join token.
type Token struct {
	ID, Secret string
}

func (t Token) String() string { return t.ID + "." + t.Secret }

// GenerateToken returns a new random token: 6 and 16 characters of [a-z0-9].
func GenerateToken() (Token, error) {
	id, err := randomString(6)
	if err != nil {
		return Token{}, err
	}
	secret, err := randomString(16)
	if err != nil {
		return Token{}, err
	}
	return Token{ID: id, Secret: secret}, nil
}

func randomString(n int) (string, error) {
	var b strings.Builder
	max := big.NewInt(int64(len(tokenChars)))
	for i := 0; i < n; i++ {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("reading random bytes: %w", err)
		}
		b.WriteByte(tokenChars[v.Int64()])
	}
	return b.String(), nil
}

// ParseToken splits "<id>.<secret>" and checks its format.
func ParseToken(s string) (Token, error) {
	m := tokenRE.FindStringSubmatch(s)
	if m == nil {
		return Token{}, fmt.Errorf("the token does not have the form <6 characters [a-z0-9]>.<16 characters [a-z0-9]>")
	}
	return Token{ID: m[1], Secret: m[2]}, nil
}

// IsValidTokenID tells whether id has the token-id format.
func IsValidTokenID(id string) bool { return tokenIDRE.MatchString(id) }

// SecretName is the name of the Secret holding the token with this id.
func SecretName(id string) string { return SecretPrefix + id }

// SecretOptions describe a token Secret.
type SecretOptions struct {
	// TTL is how long the token is valid from Now; 0 means it never expires.
	TTL time.Duration
	Now time.Time
	// Description is stored under "description".
	Description string
	// ExtraGroups default to DefaultNodeGroup.
	ExtraGroups []string
	// Usages default to authentication and signing.
	Usages []string
}

// NewSecret returns the kube-system Secret that stores t, with upstream's keys.
func NewSecret(t Token, o SecretOptions) *corev1.Secret {
	groups := o.ExtraGroups
	if len(groups) == 0 {
		groups = []string{DefaultNodeGroup}
	}
	usages := o.Usages
	if len(usages) == 0 {
		usages = []string{"authentication", "signing"}
	}
	data := map[string][]byte{
		KeyTokenID:     []byte(t.ID),
		KeyTokenSecret: []byte(t.Secret),
		KeyExtraGroups: []byte(strings.Join(groups, ",")),
	}
	for _, u := range usages {
		data[KeyUsagePrefix+u] = []byte("true")
	}
	if o.Description != "" {
		data[KeyDescription] = []byte(o.Description)
	}
	if o.TTL > 0 {
		now := o.Now
		if now.IsZero() {
			now = time.Now()
		}
		data[KeyExpiration] = []byte(now.Add(o.TTL).UTC().Format(time.RFC3339))
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: SecretName(t.ID), Namespace: Namespace},
		Type:       SecretTypeBootstrapToken,
		Data:       data,
	}
}

// Expired tells whether the Secret's expiration is at or before now; a Secret without one never
// expires, and an unparsable one counts as expired.
func Expired(s *corev1.Secret, now time.Time) (bool, time.Time) {
	v, ok := s.Data[KeyExpiration]
	if !ok || len(v) == 0 {
		return false, time.Time{}
	}
	t, err := time.Parse(time.RFC3339, string(v))
	if err != nil {
		return true, time.Time{}
	}
	return !now.Before(t), t
}

// ExtraGroups returns the Secret's auth-extra-groups, checked against upstream's format.
func ExtraGroups(s *corev1.Secret) ([]string, error) {
	v := strings.TrimSpace(string(s.Data[KeyExtraGroups]))
	if v == "" {
		return nil, nil
	}
	var out []string
	for _, g := range strings.Split(v, ",") {
		g = strings.TrimSpace(g)
		if !extraGroupsRE.MatchString(g) {
			return nil, fmt.Errorf("auth-extra-group %q does not match %s", g, extraGroupsRE)
		}
		out = append(out, g)
	}
	return out, nil
}
