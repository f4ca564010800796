// Package node is the storage of node.k8s.io/v1 runtimeclasses (Provider), cluster-scoped, with
// upstream's validation (apis/validation: the handler a DNS label that cannot change, the
// overhead and scheduling checked as a pod's) and columns (NAME HANDLER AGE). What a class
// means to a pod is elsewhere: the RuntimeClass admission plugin (apiserver/admission) gives a
// pod its class's overhead, node selector and tolerations, and the node agent passes the class's
// handler to the runtime (nodeagent/runtimeclass).
package node
