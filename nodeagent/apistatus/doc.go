// Package apistatus is what a node writes to the API about itself and its pods, shared by the
// node agent (nodeagent/agent) and simulated nodes (nodeagent/simulated): the Node's status
// as the kubelet's setters compute it (NodeStatus, from a NodeStatusInput), when it is posted
// (NodeStatusDue: changed, or the node's report slot passed, ReportPhase), the Node's registration and status
// posting (NodeRegistration), and the write of a pod's status that keeps the conditions others
// own on a conflict (PutPodStatus). It imports nothing of the agent's runtime machinery.
package apistatus
