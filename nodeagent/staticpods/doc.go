// Package staticpods reads the node's static pods from a manifest directory
// (--pod-manifest-path), as the kubelet's file source (pkg/kubelet/config/file.go and
// common.go): every *.yaml, *.yml and *.json file that is not hidden holds one Pod, decoded and
// defaulted as the API server would, validated, named <name>-<node>, in namespace default unless
// it says otherwise, bound to the node, tolerating every NoExecute taint, with a UID that hashes
// the pod, the node and the file (so an edit is a new pod), kept in the kubernetes.io/config.hash
// annotation with kubernetes.io/config.source "file". Mirror builds the pod's mirror: the copy the
// node creates in the API (kubernetes.io/config.mirror, owned by its Node) so that kubectl shows
// it. The agent (nodeagent/agent) runs the static pods and keeps their mirrors.
package staticpods
