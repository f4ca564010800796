// Package authorization decides who may do what, after kube-apiserver's authorizers: the
// privileged group system:masters, the node authorizer (a node's credential reaches only what
// the pods bound to it need) with NodeRestriction admission, and RBAC (Roles, ClusterRoles and
// their bindings, read from informer caches) with escalation prevention on RBAC writes and the
// bootstrap policy reconciled at start (ReconcileBootstrapPolicy: from one list of each kind,
// writing only what is missing or changed).
package authorization
