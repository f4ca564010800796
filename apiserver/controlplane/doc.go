// Package controlplane grows Skiff's control plane on etcd's own clustering: a first member
// (`skiff server --cluster-init`) runs its embedded etcd with TLS under a dedicated etcd CA and
// peers on its advertise address; a new member (`skiff server --join URL --token T`) uses a
// control-plane join token to download the cluster-wide credentials (the cluster CA and its key,
// the etcd CA, every other shared file under pki/) from ControlPlaneJoinPath, adds itself to etcd
// as a learner, starts its embedded etcd joining the cluster, and is promoted to a voting member
// once it has caught up. Every member then serves the API from its own etcd member.
//
// The same list of shared files makes the archive of `skiff etcd snapshot save`, so a restore
// onto a new machine keeps the CA and every kubeconfig working.
package controlplane
