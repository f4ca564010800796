// Package validation validates the standard kinds Skiff serves as kube-apiserver does: the same
// rules, field paths and messages, so that a bad object is answered with the 422 Invalid body a
// Kubernetes user expects.
//
// Entry points dispatch on the object's Go type: ValidateCreate, ValidateUpdate and
// ValidateStatusUpdate. Kinds without rules return no errors. Objects are expected to be
// defaulted already (package defaults). Field paths are upstream's, which are those of the
// internal types (e.g. events.k8s.io Events report "message", not "note").
//
// Files follow upstream's split: pod.go, pod_update.go, pod_resize.go and volumes.go (PodSpec,
// Pod update, resize (ValidatePodResize) and status, Binding), pod_ephemeral.go
// (ValidatePodEphemeralContainersUpdate, the rules of pods/ephemeralcontainers, and the fields an
// ephemeral container may set), service.go, core.go (Namespace, Node, ConfigMap, Secret, ServiceAccount,
// Endpoints, core Events), apps.go (ReplicaSet, Deployment), workloads.go (DaemonSet,
// StatefulSet, ControllerRevision, ReplicationController, PodTemplate), policy.go
// (PodDisruptionBudget, PriorityClass, the claim spec of claims and volume claim templates),
// persistentvolume.go (PersistentVolume; claim updates with the resize rules, claim status),
// storage.go (storage.k8s.io: StorageClass, VolumeAttributesClass, CSIDriver, CSINode,
// VolumeAttachment, CSIStorageCapacity), networking.go (networking.k8s.io: Ingress and its
// status, IngressClass, NetworkPolicy), other.go (Scale, Lease, EndpointSlice, events.k8s.io
// Events), runtimeclass.go (node.k8s.io RuntimeClass) and admissionregistration.go (webhook configurations, admission policies and
// bindings: their structure; the storage compiles their CEL expressions).
package validation
