// Package join obtains a node's own client credential with a join token, after upstream's
// kubelet TLS bootstrap: the node trusts the cluster CA (pinned by --ca-cert-hash, or trusted on
// first use), creates a CertificateSigningRequest for CN=system:node:<name>, O=system:nodes
// authenticated by the token, waits for the certificate and writes <data-dir>/agent.kubeconfig.
// Later runs reuse that kubeconfig and never need the token again.
//
// With that credential a node also obtains its serving certificate (ServingCertificate, signer
// kubernetes.io/kubelet-serving) and keeps it in <data-dir>/serving.pem
// (KeptServingCertificate), as the kubelet's pki/kubelet-server-current.pem: a restarted node
// reuses it while it names the same addresses and has most of its lifetime left.
package join
