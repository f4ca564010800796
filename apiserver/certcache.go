package apiserver

import (
	"crypto/sha256"
	"net/http"
	"sync"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
)

// certCache remembers client certificates that verified, by the hash of their bytes, so a
// client's chain is verified once rather than on every request. An entry lives until the
// certificate expires or maxAge passes; failures are never cached. A full cache drops its
// expired entries, and empties when that leaves it full.
type certCache struct {
	delegate authenticator.Request
	maxAge   time.Duration
	maxSize  int
	now      func() time.Time

	mu      sync.Mutex
	entries map[[sha256.Size]byte]certEntry
}

type certEntry struct {
	resp    *authenticator.Response
	expires time.Time
}

// certCacheSize is how many client certificates the cache holds: every node has one of its own
// and renews it, so it is well over upstream's 5,000-node limit. At 4,096, 5,000 simulated nodes
// emptied the cache over and over and the API server spent 4 % of its CPU verifying their
// chains again (issue 17). An entry takes about 200 bytes.
const certCacheSize = 1 << 15

func newCertCache(delegate authenticator.Request) *certCache {
	return &certCache{delegate: delegate, maxAge: 5 * time.Minute, maxSize: certCacheSize, now: time.Now,
		entries: map[[sha256.Size]byte]certEntry{}}
}

// AuthenticateRequest answers from the cache for a known certificate, else asks the delegate.
func (c *certCache) AuthenticateRequest(req *http.Request) (*authenticator.Response, bool, error) {
	if req.TLS == nil || len(req.TLS.PeerCertificates) == 0 {
		return c.delegate.AuthenticateRequest(req)
	}
	leaf := req.TLS.PeerCertificates[0]
	key := sha256.Sum256(leaf.Raw)
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		// Each request gets its own copy: later filters may add to the user's extra fields.
		resp := *e.resp
		return &resp, true, nil
	}
	resp, ok, err := c.delegate.AuthenticateRequest(req)
	if err != nil || !ok {
		return resp, ok, err
	}
	expires := now.Add(c.maxAge)
	if leaf.NotAfter.Before(expires) {
		expires = leaf.NotAfter
	}
	c.mu.Lock()
	if len(c.entries) >= c.maxSize {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
	}
	if len(c.entries) >= c.maxSize {
		c.entries = map[[sha256.Size]byte]certEntry{}
	}
	c.entries[key] = certEntry{resp: resp, expires: expires}
	c.mu.Unlock()
	copied := *resp
	return &copied, true, nil
}
