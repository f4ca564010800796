// Package servicelb is the service load-balancer controller, the part of upstream's
// cloud-controller-manager that serves type LoadBalancer Services: it calls a cloud provider
// behind the LoadBalancer interface (k8s.io/cloud-provider's, method for method) and publishes
// status.loadBalancer, with upstream's finalizer service.kubernetes.io/load-balancer-cleanup and
// events. Services with spec.loadBalancerClass set belong to another controller and are left
// alone. The built-in Local provider, like k3s's ServiceLB, publishes the InternalIPs of the
// Ready nodes as ingress addresses (ipMode VIP); every node's proxy forwards them to the
// endpoints.
package servicelb
