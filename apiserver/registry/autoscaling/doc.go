// Package autoscaling builds the storage of the autoscaling group: HorizontalPodAutoscalers
// (`hpa`, `status`) stored as autoscaling/v2 and served as v2 and v1 from the one store, the
// scheme converting v1 objects to and from v2 (apis/conversion), as kube-apiserver serves them.
// The Scale of workloads (autoscaling/v1) is served by each workload's own group.
package autoscaling
