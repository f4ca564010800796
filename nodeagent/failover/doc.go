// Package failover lets a node's API client use several API servers (the members of a highly
// available control plane): connections go to the server that answered last, and when it stops
// answering, to the next one that does. TLS is verified against the name "kubernetes", which
// every member's serving certificate carries, so one kubeconfig works with all of them.
package failover
