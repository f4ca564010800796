package apiserver

import (
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/apiserver/pki"
)

func TestMergeExtensionAuthentication(t *testing.T) {
	newCA := func(name string) string {
		ca, err := pki.LoadOrCreateCA(t.TempDir(), "ca", name)
		if err != nil {
			t.Fatal(err)
		}
		return string(ca.CertPEM)
	}
	client, proxyA, proxyB := newCA("client"), newCA("proxy-a"), newCA("proxy-b")
	ours := extensionAuthenticationData([]byte(client), []byte(proxyB))
	for _, tc := range []struct {
		name           string
		existing       map[string]string
		wantRequestCAs string
	}{
		{"nothing published", nil, proxyB},
		{"ours already published", extensionAuthenticationData([]byte(client), []byte(proxyB)), proxyB},
		{"another member's CA kept first", extensionAuthenticationData([]byte(client), []byte(proxyA)), proxyA + proxyB},
		{"both already there", extensionAuthenticationData([]byte(client), []byte(proxyA+proxyB)), proxyA + proxyB},
		{"garbage dropped", map[string]string{"requestheader-client-ca-file": "not pem"}, proxyB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mergeExtensionAuthentication(tc.existing, ours)
			if got["requestheader-client-ca-file"] != tc.wantRequestCAs {
				t.Errorf("requestheader-client-ca-file has %d certificates, want %d",
					strings.Count(got["requestheader-client-ca-file"], "BEGIN"), strings.Count(tc.wantRequestCAs, "BEGIN"))
			}
			if got["client-ca-file"] != client {
				t.Errorf("client-ca-file changed")
			}
			if got["requestheader-allowed-names"] != `["front-proxy-client"]` || got["requestheader-username-headers"] != `["X-Remote-User"]` {
				t.Errorf("requestheader settings %v", got)
			}
		})
	}
}
