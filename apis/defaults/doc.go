// Package defaults applies upstream Kubernetes' defaulting (SetDefaults_* in k8s.io/kubernetes)
// to the k8s.io/api types Skiff serves. Default dispatches on the object's Go type.
//
// Pods get SetDefaults_Pod on top of the PodSpec defaults (requests from limits,
// enableServiceLinks, host-network ports); pod templates in ReplicaSets, Deployments and the
// other workloads only get the PodSpec ones, as upstream. Services also get the single-stack
// ipFamilyPolicy/ipFamilies and clusterIP/clusterIPs sync that upstream's registry applies while
// allocating; allocating the IPs themselves is left to the server. Storage: claims get
// volumeMode Filesystem and phase Pending, StorageClasses reclaimPolicy Delete and
// volumeBindingMode Immediate, CSIDrivers upstream's spec defaults (storage.go). Networking:
// NetworkPolicies get policyTypes and port protocol TCP, IngressClass parameters scope Cluster
// (networking.go). Webhooks get failurePolicy Fail, matchPolicy Equivalent, empty selectors,
// timeoutSeconds 10, service port 443 and (mutating) reinvocationPolicy Never; rules scope "*";
// policies failurePolicy Fail and their match resources as webhooks (admissionregistration.go).
// Flow control: FlowSchemas matchingPrecedence 1000, priority levels upstream's shares, lendable
// percent and queuing defaults (flowcontrol.go).
package defaults
