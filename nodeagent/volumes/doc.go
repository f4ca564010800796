// Package volumes sets up a pod's volumes on the node and turns its containers' volumeMounts
// into CRI mounts, after upstream's volume plugins (pkg/volume/emptydir, configmap, secret,
// downwardapi, projected, hostpath) and their AtomicWriter. Projected service account tokens come
// from TokenManager (after the kubelet's token manager: TokenRequest bound to the pod, refreshed
// at 80% of the lifetime). Every volume of a pod lives under
// <root>/<pod uid>/volumes/<plugin>/<name>, where <plugin> is upstream's escaped plugin name
// (kubernetes.io~empty-dir, kubernetes.io~configmap, ...), so a restarted agent finds them.
package volumes
