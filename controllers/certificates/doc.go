// Package certificates approves and signs the CertificateSigningRequests of joining nodes, after
// upstream's csrapproving and csrsigning controllers.
//
// Approval: kubernetes.io/kube-apiserver-client-kubelet requests shaped as a node client
// certificate (CN system:node:<name>, O system:nodes, client auth, no SANs) are approved when
// their requestor is a bootstrapper (upstream's "nodeclient" rule) or the node itself renewing
// ("selfnodeclient"). Upstream asks a SubjectAccessReview whether the requestor may create
// certificatesigningrequests/nodeclient; until RBAC exists Skiff decides on the requestor's
// groups. kubernetes.io/kubelet-serving requests are approved too — upstream leaves them to an
// operator — when the requestor is the node itself (username system:node:<name> = CN, group
// system:nodes) and every SAN is the node's name or one of its status addresses.
//
// Signing: approved requests of those two signers are signed by a Signer (the cluster CA in
// `skiff up`/`skiff server`); without one the controller only approves.
package certificates
