package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// FaultType names what a Fault injects.
// +kubebuilder:validation:Enum=NodeHeartbeat;PodKill;ImagePull
type FaultType string

const (
	// NodeHeartbeat stops a node's Lease renewals and node status updates for the duration: the
	// node lifecycle controller marks it NotReady (Unknown), taints it and evicts its pods.
	NodeHeartbeat FaultType = "NodeHeartbeat"
	// PodKill kills the containers of the matching pods once, through the node's container
	// runtime: the node restarts them according to the pod's restartPolicy.
	PodKill FaultType = "PodKill"
	// ImagePull makes image pulls on a node fail for the duration (ErrImagePull, then
	// ImagePullBackOff).
	ImagePull FaultType = "ImagePull"
)

// FaultSpec says which fault to inject, where and for how long. Exactly the member named by type
// is set. The spec is immutable: delete the Fault and create another to change it.
// +kubebuilder:validation:XValidation:rule="self.type == 'NodeHeartbeat' ? has(self.nodeHeartbeat) : !has(self.nodeHeartbeat)",message="nodeHeartbeat must be set exactly when type is NodeHeartbeat"
// +kubebuilder:validation:XValidation:rule="self.type == 'PodKill' ? has(self.podKill) : !has(self.podKill)",message="podKill must be set exactly when type is PodKill"
// +kubebuilder:validation:XValidation:rule="self.type == 'ImagePull' ? has(self.imagePull) : !has(self.imagePull)",message="imagePull must be set exactly when type is ImagePull"
// +kubebuilder:validation:XValidation:rule="self.type == 'PodKill' ? !has(self.duration) : has(self.duration)",message="duration is required for NodeHeartbeat and ImagePull faults and not allowed for PodKill (a kill happens once)"
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable"
type FaultSpec struct {
	// type is the fault to inject: NodeHeartbeat, PodKill or ImagePull.
	// +required
	Type FaultType `json:"type"`

	// nodeHeartbeat stops a node's heartbeats (type NodeHeartbeat).
	// +optional
	NodeHeartbeat *NodeHeartbeatFault `json:"nodeHeartbeat,omitempty"`

	// podKill kills pods' containers (type PodKill).
	// +optional
	PodKill *PodKillFault `json:"podKill,omitempty"`

	// imagePull makes image pulls on a node fail (type ImagePull).
	// +optional
	ImagePull *ImagePullFault `json:"imagePull,omitempty"`

	// duration is how long a NodeHeartbeat or ImagePull fault lasts from its start, e.g. "90s"
	// or "5m". It must be positive.
	// +optional
	Duration *metav1.Duration `json:"duration,omitempty"`
}

// NodeHeartbeatFault names the node whose heartbeats stop.
type NodeHeartbeatFault struct {
	// nodeName is the node that stops renewing its Lease and posting its status.
	// +required
	// +kubebuilder:validation:MinLength=1
	NodeName string `json:"nodeName"`
}

// PodKillFault selects, in the Fault's namespace, the pods whose containers are killed: one pod by
// name, or every pod a label selector matches.
// +kubebuilder:validation:XValidation:rule="has(self.podName) != has(self.selector)",message="exactly one of podName and selector must be set"
type PodKillFault struct {
	// podName is the pod whose containers are killed.
	// +optional
	// +kubebuilder:validation:MinLength=1
	PodName string `json:"podName,omitempty"`

	// selector matches the pods whose containers are killed.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`

	// containers limits the kill to these container names (default: every running container).
	// +optional
	// +listType=set
	Containers []string `json:"containers,omitempty"`
}

// ImagePullFault names the node on which image pulls fail.
type ImagePullFault struct {
	// nodeName is the node whose image pulls fail.
	// +required
	// +kubebuilder:validation:MinLength=1
	NodeName string `json:"nodeName"`

	// images limits the failure to these images: a reference matches when it equals the entry or
	// is the entry followed by a tag or digest, with or without a registry host in front
	// ("skiff/busybox" matches "127.0.0.1:5000/skiff/busybox:latest"). Empty: every pull fails.
	// +optional
	// +listType=set
	Images []string `json:"images,omitempty"`
}

// FaultPhase is where a Fault is in its life.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed
type FaultPhase string

const (
	// FaultPending: accepted, not injected yet.
	FaultPending FaultPhase = "Pending"
	// FaultRunning: injected; a NodeHeartbeat or ImagePull fault lasts until startTime+duration,
	// a PodKill fault until the pods' nodes have killed their containers.
	FaultRunning FaultPhase = "Running"
	// FaultSucceeded: the fault was injected and has ended.
	FaultSucceeded FaultPhase = "Succeeded"
	// FaultFailed: the fault could not be injected (no such node, no matching pod, ...).
	FaultFailed FaultPhase = "Failed"
)

// Condition types and reasons of a Fault.
const (
	// ConditionInjected is True while the fault is in effect.
	ConditionInjected = "Injected"

	ReasonPending          = "Pending"
	ReasonInjected         = "Injected"
	ReasonEnded            = "Ended"
	ReasonNodeNotFound     = "NodeNotFound"
	ReasonNoMatchingPods   = "NoMatchingPods"
	ReasonInvalid          = "Invalid"
	ReasonKillTimeout      = "KillTimeout"
	ReasonPodsGone         = "PodsGone"
	ReasonContainersKilled = "ContainersKilled"
)

// FaultPod is one pod of a PodKill fault: the controller lists the pods when the fault starts,
// and the pod's node records when it killed the containers.
type FaultPod struct {
	// name of the pod.
	Name string `json:"name"`
	// uid of the pod: a pod recreated under the same name is not killed.
	UID types.UID `json:"uid"`
	// nodeName is the node the pod runs on, which kills its containers.
	// +optional
	NodeName string `json:"nodeName,omitempty"`
	// killTime is when the node killed the containers.
	// +optional
	KillTime *metav1.Time `json:"killTime,omitempty"`
	// containers are the names of the containers killed.
	// +optional
	// +listType=atomic
	Containers []string `json:"containers,omitempty"`
}

// FaultStatus is what happened.
type FaultStatus struct {
	// observedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase is Pending, Running, Succeeded or Failed.
	// +optional
	Phase FaultPhase `json:"phase,omitempty"`

	// target says what the fault hits, e.g. "node/sim-1" or "pod/web-7d9f" or "pods/app=web (3)".
	// +optional
	Target string `json:"target,omitempty"`

	// startTime is when the fault was injected.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// endTime is when the fault ended (or failed).
	// +optional
	EndTime *metav1.Time `json:"endTime,omitempty"`

	// message is a human-readable account of the phase.
	// +optional
	Message string `json:"message,omitempty"`

	// pods are a PodKill fault's pods.
	// +optional
	// +listType=atomic
	Pods []FaultPod `json:"pods,omitempty"`

	// conditions: Injected is True while the fault is in effect.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Fault injects a fault into the cluster (a node that stops heartbeating, a pod whose containers
// are killed, image pulls that fail on a node) so a person can watch the cluster heal.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=chaos
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.status.target`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Duration",type=string,JSONPath=`.spec.duration`
// +kubebuilder:printcolumn:name="Started",type=date,JSONPath=`.status.startTime`,priority=1
// +kubebuilder:printcolumn:name="Ended",type=date,JSONPath=`.status.endTime`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Fault struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the fault to inject.
	// +required
	Spec FaultSpec `json:"spec"`

	// status is what happened.
	// +optional
	Status FaultStatus `json:"status,omitempty"`
}

// FaultList is a list of Faults.
// +kubebuilder:object:root=true
type FaultList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Fault `json:"items"`
}
