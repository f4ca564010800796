// Package serviceaccount issues and authenticates ServiceAccount tokens as kube-apiserver does:
// RS256 JWTs signed with the key pair in <data-dir>/pki (sa.key, sa.pub), with upstream's
// claims (iss, sub system:serviceaccount:<ns>:<name>, aud, exp, iat, nbf, jti and the private
// kubernetes.io claim naming the namespace, the ServiceAccount and the object the token is bound
// to). The Authenticator checks the signature, issuer, expiry and audience, and that the bound
// ServiceAccount, Pod, Secret or Node still exists with the same UID; legacy tokens (iss
// kubernetes/serviceaccount, from service-account-token Secrets) are accepted while their Secret
// holds them. DiscoveryHandlers serve the OpenID discovery documents
// (/.well-known/openid-configuration, /openid/v1/jwks).
package serviceaccount
