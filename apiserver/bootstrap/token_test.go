package bootstrap

import (
	"regexp"
	"testing"
	"time"
)

func TestGenerateTokenFormat(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		tok, err := GenerateToken()
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(tok.String()) {
			t.Fatalf("token %q does not have upstream's format", tok)
		}
		if seen[tok.String()] {
			t.Fatalf("duplicate token %q", tok)
		}
		seen[tok.String()] = true
		parsed, err := ParseToken(tok.String())
		if err != nil || parsed != tok {
			t.Fatalf("ParseToken(%q) = %v, %v", tok, parsed, err)
		}
	}
}

func TestParseTokenRejects(t *testing.T) {
	for _, s := range []string{"", "abcdef", "abcdef.", "abcdef.0123456789abcde", "abcdef.0123456789abcdefg",
		"ABCDEF.0123456789abcdef", "abcde.0123456789abcdef", "abcdef:0123456789abcdef", "abcdef.0123456789abcdeF",
		"abcdef.0123456789abcdef.x", " abcdef.0123456789abcdef"} {
		if _, err := ParseToken(s); err == nil {
			t.Errorf("ParseToken(%q) accepted", s)
		}
	}
	if _, err := ParseToken("abc123.0123456789abcdef"); err != nil {
		t.Errorf("valid token refused: %v", err)
	}
}

func TestNewSecret(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s := NewSecret(Token{ID: "abc123", Secret: "0123456789abcdef"}, SecretOptions{TTL: 24 * time.Hour, Now: now, Description: "d"})
	if s.Name != "bootstrap-token-abc123" || s.Namespace != "kube-system" || s.Type != "bootstrap.kubernetes.io/token" {
		t.Fatalf("secret %s/%s type %s", s.Namespace, s.Name, s.Type)
	}
	want := map[string]string{
		"token-id": "abc123", "token-secret": "0123456789abcdef", "expiration": "2030-01-03T03:04:05Z",
		"usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true",
		"auth-extra-groups": "system:bootstrappers:skiff:default-node-token", "description": "d",
	}
	if len(s.Data) != len(want) {
		t.Errorf("data keys %v, want %v", s.Data, want)
	}
	for k, v := range want {
		if string(s.Data[k]) != v {
			t.Errorf("data[%s] = %q, want %q", k, s.Data[k], v)
		}
	}
	if exp, at := Expired(s, now.Add(23*time.Hour)); exp || !at.Equal(now.Add(24*time.Hour)) {
		t.Errorf("expired before expiry: %v %v", exp, at)
	}
	if exp, _ := Expired(s, now.Add(24*time.Hour)); !exp {
		t.Errorf("not expired at expiry")
	}
	forever := NewSecret(Token{ID: "abc123", Secret: "0123456789abcdef"}, SecretOptions{})
	if _, ok := forever.Data["expiration"]; ok {
		t.Errorf("TTL 0 set an expiration")
	}
	if exp, _ := Expired(forever, now.Add(100*365*24*time.Hour)); exp {
		t.Errorf("token without expiration expired")
	}
}

func TestExtraGroups(t *testing.T) {
	s := NewSecret(Token{ID: "abc123", Secret: "0123456789abcdef"}, SecretOptions{ExtraGroups: []string{"system:bootstrappers:a", "system:bootstrappers:b-c"}})
	g, err := ExtraGroups(s)
	if err != nil || len(g) != 2 || g[1] != "system:bootstrappers:b-c" {
		t.Fatalf("ExtraGroups = %v, %v", g, err)
	}
	s.Data[KeyExtraGroups] = []byte("system:masters")
	if _, err := ExtraGroups(s); err == nil {
		t.Fatalf("system:masters accepted as an extra group")
	}
}
