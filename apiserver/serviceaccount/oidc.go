package serviceaccount

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/go-jose/go-jose/v4"
)

// Paths of the OpenID discovery documents, as kube-apiserver serves them.
const (
	OpenIDConfigPath = "/.well-known/openid-configuration"
	JWKSPath         = "/openid/v1/jwks"
)

type openIDConfig struct {
	Issuer        string   `json:"issuer"`
	JWKSURI       string   `json:"jwks_uri"`
	ResponseTypes []string `json:"response_types_supported"`
	SubjectTypes  []string `json:"subject_types_supported"`
	SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
}

// DiscoveryHandlers returns the handlers of OpenIDConfigPath and JWKSPath: the issuer's
// discovery document (jwks_uri is serverURL + JWKSPath) and the public keys.
func DiscoveryHandlers(issuer, serverURL string, keys []*rsa.PublicKey) (config, jwks http.Handler, err error) {
	cfgJSON, err := json.Marshal(openIDConfig{
		Issuer: issuer, JWKSURI: serverURL + JWKSPath,
		ResponseTypes: []string{"id_token"}, SubjectTypes: []string{"public"}, SigningAlgs: []string{string(jose.RS256)},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the OpenID configuration: %w", err)
	}
	set := jose.JSONWebKeySet{}
	for _, k := range keys {
		kid, err := KeyID(k)
		if err != nil {
			return nil, nil, err
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: string(jose.RS256), Use: "sig"})
	}
	setJSON, err := json.Marshal(set)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the key set: %w", err)
	}
	return staticJSON(cfgJSON, "application/json"), staticJSON(setJSON, "application/jwk-set+json"), nil
}

func staticJSON(body []byte, contentType string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(body)
	})
}
