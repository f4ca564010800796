// Package serviceaccount holds the controllers behind pods' API access, after upstream's
// serviceaccounts controller and root-ca-cert-publisher: every active namespace gets a
// ServiceAccount named default and a ConfigMap kube-root-ca.crt with the cluster CA bundle
// (key ca.crt), recreated when deleted and corrected when changed. TokensController is upstream's
// tokens controller: kubernetes.io/service-account-token Secrets get a long-lived token signed
// with the API server's key, ca.crt and namespace.
package serviceaccount
