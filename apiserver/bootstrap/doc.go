// Package bootstrap implements join tokens after upstream's bootstrap tokens
// (k8s.io/cluster-bootstrap and kube-apiserver's bootstrap-token authenticator): the token
// format "<id>.<secret>", the kube-system Secret "bootstrap-token-<id>" of type
// bootstrap.kubernetes.io/token that stores it, the bearer-token authenticator that maps a
// valid token to user system:bootstrap:<id> in group system:bootstrappers, the narrow
// authorization bootstrappers get until RBAC exists, and the kube-public/cluster-info ConfigMap
// a joining node reads the cluster CA from.
package bootstrap
