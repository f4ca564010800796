// Package helper holds small facts about core/v1 values that several parts of Skiff need, as
// upstream's pkg/apis/core/v1/helper has them: which resource names are native and which are
// extended, and the annotations and finalizers of volume binding and provisioning, a claim's class
// and the default StorageClass among several (storage.go), a pod's QoS class (qos.go), the merge of two toleration lists (tolerations.go),
// and which pods' endpoints two views of EndpointSlices disagree about (endpoints.go: the endpoints
// controller's and the service proxy's spans name those pods).
// It imports only k8s.io/api and apimachinery.
package helper
