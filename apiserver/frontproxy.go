package apiserver

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authentication/request/headerrequest"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/apiserver/pki"
)

// The front proxy is the aggregator calling remote APIServices: it presents a client certificate
// of its own CA (kube-apiserver's --proxy-client-cert-file) and names the user in request
// headers, which extension API servers trust from that CA and name only (--requestheader-*).
const (
	frontProxyCAName     = "front-proxy-ca"
	frontProxyClientName = "front-proxy-client"
	// ExtensionAuthenticationConfigMap in kube-system tells extension API servers how to
	// authenticate clients and the front proxy (k8s.io/apiserver's delegated authentication).
	ExtensionAuthenticationConfigMap = "extension-apiserver-authentication"
)

// requestHeaders are kube-apiserver's --requestheader-* header names, which the aggregator's
// proxy (client-go's auth proxy round tripper) sets.
var requestHeaders = struct{ username, uid, group, extraPrefix []string }{
	username: []string{"X-Remote-User"}, uid: []string{"X-Remote-Uid"},
	group: []string{"X-Remote-Group"}, extraPrefix: []string{"X-Remote-Extra-"},
}

// frontProxy is the front proxy's PKI: its CA and the aggregator's client certificate files.
type frontProxy struct {
	ca                *pki.CA
	certFile, keyFile string
}

// applyFrontProxy creates the front-proxy CA (shared by control-plane members, under pki/) and
// this member's front-proxy client certificate, accepts that CA's client certificates at the TLS
// handshake and authenticates the front proxy's request headers, as kube-apiserver does with
// --requestheader-client-ca-file and --requestheader-allowed-names=front-proxy-client.
func (c *Config) applyFrontProxy() (*frontProxy, authenticator.Request, error) {
	dir := c.Options.pkiDir()
	ca, err := pki.LoadOrCreateCA(dir, frontProxyCAName, "skiff-front-proxy-ca")
	if err != nil {
		return nil, nil, fmt.Errorf("front-proxy CA: %w", err)
	}
	fp := &frontProxy{ca: ca, certFile: filepath.Join(dir, frontProxyClientName+".crt"), keyFile: filepath.Join(dir, frontProxyClientName+".key")}
	if err := ca.EnsurePair(fp.certFile, fp.keyFile, pki.CertSpec{CommonName: frontProxyClientName, Client: true}); err != nil {
		return nil, nil, fmt.Errorf("front-proxy client certificate: %w", err)
	}
	caContent, err := dynamiccertificates.NewStaticCAContent("request-header", ca.CertPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("front-proxy CA: %w", err)
	}
	gc := c.Generic
	if err := gc.Authentication.ApplyClientCert(caContent, gc.SecureServing); err != nil {
		return nil, nil, fmt.Errorf("front-proxy CA: %w", err)
	}
	cfg := &authenticatorfactory.RequestHeaderConfig{
		UsernameHeaders:     headerrequest.StaticStringSlice(requestHeaders.username),
		UIDHeaders:          headerrequest.StaticStringSlice(requestHeaders.uid),
		GroupHeaders:        headerrequest.StaticStringSlice(requestHeaders.group),
		ExtraHeaderPrefixes: headerrequest.StaticStringSlice(requestHeaders.extraPrefix),
		CAContentProvider:   caContent,
		AllowedClientNames:  headerrequest.StaticStringSlice{frontProxyClientName},
	}
	gc.Authentication.RequestHeaderConfig = cfg
	authn := headerrequest.NewDynamicVerifyOptionsSecure(cfg.CAContentProvider.VerifyOptions, cfg.AllowedClientNames,
		cfg.UsernameHeaders, cfg.UIDHeaders, cfg.GroupHeaders, cfg.ExtraHeaderPrefixes)
	return fp, authn, nil
}

// extensionAuthenticationData is the data of kube-system/extension-apiserver-authentication as
// kube-apiserver's cluster authentication trust controller writes it: the client CA and the
// front proxy's CA, allowed names and headers (lists as JSON).
func extensionAuthenticationData(clientCA, requestHeaderCA []byte) map[string]string {
	list := func(s []string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	return map[string]string{
		"client-ca-file":                     string(clientCA),
		"requestheader-client-ca-file":       string(requestHeaderCA),
		"requestheader-allowed-names":        list([]string{frontProxyClientName}),
		"requestheader-username-headers":     list(requestHeaders.username),
		"requestheader-uid-headers":          list(requestHeaders.uid),
		"requestheader-group-headers":        list(requestHeaders.group),
		"requestheader-extra-headers-prefix": list(requestHeaders.extraPrefix),
	}
}

// caBundleKeys are the ConfigMap's CA bundles.
var caBundleKeys = []string{"client-ca-file", "requestheader-client-ca-file"}

// mergeExtensionAuthentication is the ConfigMap data to write over existing: ours, with each CA
// bundle joined to the certificates already published, so that control-plane members that (as
// after an upgrade) created front-proxy CAs of their own do not overwrite each other, as
// kube-apiserver's cluster authentication trust controller combines every server's CAs.
func mergeExtensionAuthentication(existing, ours map[string]string) map[string]string {
	out := maps.Clone(ours)
	for _, key := range caBundleKeys {
		out[key] = joinPEMCertificates(existing[key], ours[key])
	}
	return out
}

// joinPEMCertificates concatenates the certificates of bundles in order, each once.
func joinPEMCertificates(bundles ...string) string {
	seen := map[string]bool{}
	var out []byte
	for _, bundle := range bundles {
		rest := []byte(bundle)
		for {
			var block *pem.Block
			if block, rest = pem.Decode(rest); block == nil {
				break
			}
			if block.Type != "CERTIFICATE" || seen[string(block.Bytes)] {
				continue
			}
			seen[string(block.Bytes)] = true
			out = append(out, pem.EncodeToMemory(block)...)
		}
	}
	return string(out)
}

// ensureExtensionAuthentication creates or corrects kube-system/extension-apiserver-authentication.
func ensureExtensionAuthentication(ctx context.Context, client kubernetes.Interface, data map[string]string) error {
	cms := client.CoreV1().ConfigMaps(metav1.NamespaceSystem)
	cm, err := cms.Get(ctx, ExtensionAuthenticationConfigMap, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ExtensionAuthenticationConfigMap, Namespace: metav1.NamespaceSystem},
			Data: data}, metav1.CreateOptions{})
	case err == nil:
		if merged := mergeExtensionAuthentication(cm.Data, data); !maps.Equal(cm.Data, merged) {
			cm.Data = merged
			_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("writing %s/%s: %w", metav1.NamespaceSystem, ExtensionAuthenticationConfigMap, err)
	}
	return nil
}
