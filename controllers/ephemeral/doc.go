// Package ephemeral is upstream's ephemeral volume controller: for each generic ephemeral volume
// of a pod (an `ephemeral` volume source) it creates the PersistentVolumeClaim of the volume's
// claim template, named "<pod>-<volume>" and controlled by the pod, so that the claim is bound
// like any other (provisioned on the pod's node by the local-path provisioner) and garbage
// collected with the pod. A claim of that name the pod does not control is an error, retried,
// and the node agent refuses to mount it.
package ephemeral
