package apiserver

import (
	"crypto/rsa"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	tokencache "k8s.io/apiserver/pkg/authentication/token/cache"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	certutil "k8s.io/client-go/util/cert"

	"github.com/skiff-dev/skiff/apiserver/pki"
	authnstorage "github.com/skiff-dev/skiff/apiserver/registry/authentication"
	corestorage "github.com/skiff-dev/skiff/apiserver/registry/core"
	"github.com/skiff-dev/skiff/apiserver/serviceaccount"
)

// serviceAccounts is the API server's service account token setup: the signing key in
// <data-dir>/pki (sa.key, sa.pub), the signer behind serviceaccounts/token and the
// authenticator of the tokens.
type serviceAccounts struct {
	issuer string
	key    *rsa.PrivateKey
	signer *serviceaccount.Signer
	// authn is the token authenticator, behind kube-apiserver's 10 s cache of successful
	// authentications (a deleted pod's token may work for up to 10 s more, as upstream).
	authn authenticator.Token
}

// setUpServiceAccounts loads or creates the key, and prepares the signer and the authenticator,
// whose informers start with the server. The API's audiences become the issuer.
func (c *Config) setUpServiceAccounts(client kubernetes.Interface, factory informers.SharedInformerFactory) (*serviceAccounts, error) {
	o := c.Options
	issuer := o.ServiceAccountIssuer
	if issuer == "" {
		issuer = serviceaccount.DefaultIssuer
	}
	key, err := serviceaccount.LoadOrCreateKey(o.pkiDir())
	if err != nil {
		return nil, err
	}
	signer, err := serviceaccount.NewSigner(issuer, key, nil)
	if err != nil {
		return nil, err
	}
	getter := serviceaccount.NewCachedGetter(client, factory)
	c.Generic.AddPostStartHookOrDie("skiff-serviceaccount-token-authenticator", func(hook genericapiserver.PostStartHookContext) error {
		getter.Start(hook.Done())
		return nil
	})
	c.Generic.Authentication.APIAudiences = authenticator.Audiences{issuer}
	authn := tokencache.New(serviceaccount.NewAuthenticator(issuer, []*rsa.PublicKey{&key.PublicKey}, []string{issuer}, getter, nil),
		false, 10*time.Second, 0)
	return &serviceAccounts{issuer: issuer, key: key, signer: signer, authn: authn}, nil
}

// tokens are the settings of serviceaccounts/token.
func (s *serviceAccounts) tokens(o *Options) corestorage.ServiceAccountTokens {
	if s == nil {
		return corestorage.ServiceAccountTokens{}
	}
	return corestorage.ServiceAccountTokens{Signer: s.signer, APIAudiences: []string{s.issuer},
		MaxExpiration: o.ServiceAccountMaxTokenExpiration, ExtendExpiration: true}
}

// installOpenIDDiscovery serves /.well-known/openid-configuration and /openid/v1/jwks, with the
// key set's URL on the advertise address (where pods reach the API server).
func (c *Config) installOpenIDDiscovery(gs *genericapiserver.GenericAPIServer, s *serviceAccounts) error {
	if s == nil {
		return nil
	}
	base := c.ServerURL()
	if ip := c.Options.advertiseIP(); ip != nil {
		port := c.Options.SecurePort
		if l := c.Generic.SecureServing.Listener; l != nil {
			port = l.Addr().(*net.TCPAddr).Port
		}
		base = "https://" + net.JoinHostPort(ip.String(), strconv.Itoa(port))
	}
	cfg, jwks, err := serviceaccount.DiscoveryHandlers(s.issuer, base, []*rsa.PublicKey{&s.key.PublicKey})
	if err != nil {
		return fmt.Errorf("service account issuer discovery: %w", err)
	}
	gs.Handler.NonGoRestfulMux.Handle(serviceaccount.OpenIDConfigPath, cfg)
	gs.Handler.NonGoRestfulMux.Handle(serviceaccount.JWKSPath, jwks)
	return nil
}

// withKubernetesServiceIP adds the kubernetes Service's ClusterIP (the first address of the
// service range) to the serving certificate's IPs, as kube-apiserver does, so in-cluster clients
// verify the server they reach through KUBERNETES_SERVICE_HOST. A serving certificate written
// before without it is removed, to be issued again.
func withKubernetesServiceIP(spec pki.CertSpec, serviceRange, certPath, keyPath string) pki.CertSpec {
	_, n, err := net.ParseCIDR(serviceRange)
	if err != nil || n.IP.To4() == nil {
		return spec
	}
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, binary.BigEndian.Uint32(n.IP.To4())+1)
	spec.IPs = append(spec.IPs, ip)
	if data, err := os.ReadFile(certPath); err == nil {
		if certs, err := certutil.ParseCertsPEM(data); err == nil && len(certs) > 0 && certs[0].VerifyHostname(ip.String()) != nil {
			_ = os.Remove(certPath)
			_ = os.Remove(keyPath)
		}
	}
	return spec
}

// ServiceAccountSigner signs service account tokens with the server's key; the tokens
// controller run beside the server uses it for kubernetes.io/service-account-token Secrets.
func (c *Config) ServiceAccountSigner() *serviceaccount.Signer {
	if c.serviceAccounts == nil {
		return nil
	}
	return c.serviceAccounts.signer
}

// tokenReviews answers TokenReview with the server's own authenticator and audiences.
func (c *Config) tokenReviews() authnstorage.TokenReviews {
	return authnstorage.TokenReviews{Authenticator: c.Generic.Authentication.Authenticator, APIAudiences: c.Generic.Authentication.APIAudiences}
}
