// Package serviceaccount holds the controllers behind pods' API access, after upstream's
// serviceaccounts controller and root-ca-cert-publisher: every active namespace gets a
// ServiceAccount named default and a ConfigMap kube-root-ca.crt with the cluster CA bundle
// (key ca.crt), recreated when deleted and corrected when changed.
package serviceaccount
