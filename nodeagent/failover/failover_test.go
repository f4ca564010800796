package failover

import (
	"context"
	"net"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return l
}

func TestDialerFailsOverAndSticks(t *testing.T) {
	a, b, c := listen(t), listen(t), listen(t)
	url := func(l net.Listener) string { return "https://" + l.Addr().String() }
	d, err := NewDialer([]string{url(a), url(b), url(c)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		close net.Listener
		want  string
	}{
		{"first answers", nil, a.Addr().String()},
		{"first dies: the next", a, b.Addr().String()},
		{"second dies: the third", b, c.Addr().String()},
	} {
		if tc.close != nil {
			tc.close.Close()
		}
		conn, err := d.DialContext(ctx, "tcp", "ignored:1")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := conn.RemoteAddr().String(); got != tc.want {
			t.Errorf("%s: connected to %s, want %s", tc.name, got, tc.want)
		}
		conn.Close()
		if d.Current() != tc.want {
			t.Errorf("%s: current %s, want %s", tc.name, d.Current(), tc.want)
		}
	}
	c.Close()
	if _, err := d.DialContext(ctx, "tcp", "ignored:1"); err == nil || !strings.Contains(err.Error(), "no API server answered") {
		t.Errorf("all dead: err = %v", err)
	}
}

func TestApply(t *testing.T) {
	for _, tc := range []struct {
		name    string
		servers []string
		wantErr string
		applied bool
	}{
		{"one server: unchanged", []string{"https://10.0.0.1:6443"}, "", false},
		{"several", []string{"https://10.0.0.1:6443", "https://10.0.0.2:6443"}, "", true},
		{"not https", []string{"https://10.0.0.1:6443", "http://10.0.0.2:6443"}, "want https://HOST:PORT", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &rest.Config{Host: "https://10.0.0.1:6443"}
			_, err := Apply(cfg, tc.servers)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Dial != nil && cfg.TLSClientConfig.ServerName == ServerName; got != tc.applied {
				t.Errorf("applied = %v, want %v", got, tc.applied)
			}
		})
	}
}
