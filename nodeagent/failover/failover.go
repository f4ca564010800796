package failover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

// ServerName is the TLS name verified on every API server: a DNS name in each member's
// serving certificate.
const ServerName = "kubernetes"

// dialTimeout bounds one connection attempt, so a dead server costs little before the next.
const dialTimeout = 3 * time.Second

// Dialer connects to the first reachable of several API server addresses, preferring the last
// one that worked.
type Dialer struct {
	mu      sync.Mutex
	addrs   []string
	current int
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
}

// NewDialer returns a dialer over the host:port of each server URL (https://HOST:PORT).
func NewDialer(servers []string) (*Dialer, error) {
	if len(servers) == 0 {
		return nil, fmt.Errorf("no API server URL")
	}
	d := &Dialer{dial: (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext}
	for _, s := range servers {
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("API server %q: want https://HOST:PORT", s)
		}
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "443")
		}
		d.addrs = append(d.addrs, host)
	}
	return d, nil
}

// Current is the address that answered last (or the first).
func (d *Dialer) Current() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.addrs[d.current]
}

// DialContext ignores addr (the kubeconfig's server) and connects to the current server, or to
// the next ones in turn when it does not answer.
func (d *Dialer) DialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	d.mu.Lock()
	start, addrs := d.current, d.addrs
	d.mu.Unlock()
	var errs []error
	for i := range addrs {
		idx := (start + i) % len(addrs)
		conn, err := d.dial(ctx, network, addrs[idx])
		if err == nil {
			if idx != start {
				d.mu.Lock()
				d.current = idx
				d.mu.Unlock()
				klog.FromContext(ctx).Info("Switched to another API server", "from", addrs[start], "to", addrs[idx])
			}
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("no API server answered: %w", errors.Join(errs...))
}

// Apply makes cfg use every server in servers (cfg.Host is kept as the URL requests name):
// connections go through a Dialer, and TLS verifies the name "kubernetes". A single server
// leaves cfg unchanged.
func Apply(cfg *rest.Config, servers []string) (*Dialer, error) {
	if len(servers) < 2 {
		return nil, nil
	}
	d, err := NewDialer(servers)
	if err != nil {
		return nil, err
	}
	cfg.Dial = d.DialContext
	if cfg.TLSClientConfig.ServerName == "" {
		cfg.TLSClientConfig.ServerName = ServerName
	}
	return d, nil
}
