// Package volumes sets up a pod's volumes on the node and turns its containers' volumeMounts
// into CRI mounts, after upstream's volume plugins (pkg/volume/emptydir, configmap, secret,
// downwardapi, projected, hostpath, local) and their AtomicWriter. Projected service account
// tokens come from TokenManager (after the kubelet's token manager: TokenRequest bound to the
// pod, refreshed at 80% of the lifetime). Every volume made for a pod alone
// lives under <root>/<pod uid>/volumes/<plugin>/<name>, where <plugin> is upstream's escaped
// plugin name (kubernetes.io~empty-dir, kubernetes.io~configmap, ...), so a restarted agent
// finds them. An emptyDir of medium Memory is a tmpfs mounted there (sized as the kubelet's
// SizeMemoryBackedVolumes: sizeLimit, else the pod's memory limit, else the node's allocatable
// memory), unmounted when the pod's volumes are cleaned up; medium HugePages is refused.
//
// persistentVolumeClaim volumes, and generic ephemeral ones (whose claim <pod>-<volume> must be
// controlled by the pod), resolve as the kubelet's desired state populator does (claims.go): the
// claim must be bound, its PersistentVolume bound to it, and a `local` or `hostPath` volume is
// mounted from its own path (never from under the pod's directory, so the pod's clean-up leaves
// the data); other sources are refused. A directory of skiff.dev/local-path (package localpath)
// pinned to this node (Manager.Hostnames) is made again if it went missing. The claim volume's
// readOnly, or a volume that is ReadOnlyMany only, mounts read-only. With the pod's fsGroup, a writable local volume is given
// to the group once per pod (SetVolumeOwnership, honouring fsGroupChangePolicy), as upstream's
// local plugin; hostPath volumes are left as they are.
package volumes
