package apiserver

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"testing"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
)

type countingAuth struct {
	calls int
	fail  bool
}

func (a *countingAuth) AuthenticateRequest(*http.Request) (*authenticator.Response, bool, error) {
	a.calls++
	if a.fail {
		return nil, false, errors.New("bad certificate")
	}
	return &authenticator.Response{User: &user.DefaultInfo{Name: "alice"}}, true, nil
}

func reqWithCert(raw byte, notAfter time.Time) *http.Request {
	cert := &x509.Certificate{Raw: []byte{raw}, NotAfter: notAfter}
	return &http.Request{TLS: &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}}
}

func TestCertCache(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		fail      bool
		notAfter  time.Time
		advance   time.Duration
		wantCalls int
	}{
		{"second request answered from the cache", false, now.Add(time.Hour), time.Minute, 1},
		{"entry expires after maxAge", false, now.Add(time.Hour), 6 * time.Minute, 2},
		{"entry expires with the certificate", false, now.Add(30 * time.Second), time.Minute, 2},
		{"failures are not cached", true, now.Add(time.Hour), time.Second, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &countingAuth{fail: tc.fail}
			c := newCertCache(a)
			clock := now
			c.now = func() time.Time { return clock }
			_, ok1, _ := c.AuthenticateRequest(reqWithCert(1, tc.notAfter))
			clock = clock.Add(tc.advance)
			resp, ok2, _ := c.AuthenticateRequest(reqWithCert(1, tc.notAfter))
			if a.calls != tc.wantCalls {
				t.Errorf("delegate called %d times, want %d", a.calls, tc.wantCalls)
			}
			if ok1 != !tc.fail || ok2 != !tc.fail || (!tc.fail && resp.User.GetName() != "alice") {
				t.Errorf("results ok1=%v ok2=%v resp=%v", ok1, ok2, resp)
			}
		})
	}
	t.Run("requests without a certificate pass through", func(t *testing.T) {
		a := &countingAuth{}
		c := newCertCache(a)
		c.AuthenticateRequest(&http.Request{})
		c.AuthenticateRequest(&http.Request{})
		if a.calls != 2 {
			t.Errorf("delegate called %d times, want 2", a.calls)
		}
	})
	t.Run("a full cache drops expired entries before it empties", func(t *testing.T) {
		a := &countingAuth{}
		c := newCertCache(a)
		clock := now
		c.now = func() time.Time { return clock }
		c.maxSize = 3
		steps := []struct {
			advance          time.Duration
			certs            []byte
			wantCalls, wantN int
		}{
			{0, []byte{1, 2, 1, 2}, 2, 2},
			{6 * time.Minute, []byte{3, 4}, 4, 2}, // 1 and 2 expired: dropped, 3 and 4 kept
			{0, []byte{3, 4, 3}, 4, 2},
			{time.Minute, []byte{5, 6}, 6, 1}, // full of live entries: emptied before 6
		}
		for i, s := range steps {
			clock = clock.Add(s.advance)
			for _, raw := range s.certs {
				c.AuthenticateRequest(reqWithCert(raw, now.Add(time.Hour)))
			}
			if a.calls != s.wantCalls || len(c.entries) != s.wantN {
				t.Errorf("step %d: %d verifications, %d entries; want %d, %d", i, a.calls, len(c.entries), s.wantCalls, s.wantN)
			}
		}
		if certCacheSize < 2*5000 {
			t.Errorf("certCacheSize %d: fewer than two certificates for each of 5,000 nodes", certCacheSize)
		}
	})
}
