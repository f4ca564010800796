package bootstrap

import (
	"slices"

	"k8s.io/apiserver/pkg/authentication/user"
)

// Control-plane join tokens: `skiff token create --control-plane` adds this extra group; only
// such tokens may read ControlPlaneJoinPath, the cluster-wide credentials (CA and its key) a new
// control-plane member (`skiff server --join`) needs, as kubeadm's `join --control-plane`
// downloads its certificates. A node join token cannot.
const (
	ControlPlaneGroup    = "system:bootstrappers:skiff:control-plane"
	ControlPlaneJoinPath = "/skiff/v1/control-plane/join"
)

// IsControlPlaneJoiner tells whether u authenticated with a control-plane join token.
func IsControlPlaneJoiner(u user.Info) bool {
	return u != nil && IsBootstrapper(u) && slices.Contains(u.GetGroups(), ControlPlaneGroup)
}
