// Package podautoscaler is the horizontal pod autoscaler controller, after upstream's
// pkg/controller/podautoscaler: every sync period (15 s) it reads each HorizontalPodAutoscaler's
// target through the scale subresource of any kind (client-go's scale client and a discovery
// REST mapper: Deployments, ReplicaSets, StatefulSets, custom resources with a scale
// subresource), computes the replicas its metrics ask for and scales the target, with
// upstream's conditions (AbleToScale, ScalingActive, ScalingLimited), events (SuccessfulRescale
// "New size: N; reason: ...", FailedGetResourceMetric, ...) and status (currentMetrics,
// desiredReplicas, lastScaleTime).
//
// The decisions are pure and table-tested on an injected clock: Calculator (replicas.go) is
// upstream's replica calculator over given pods and samples (Resource and ContainerResource
// metrics with Utilization or AverageValue targets, tolerance 0.1, missing, pending and
// unready pods counted conservatively); Normalize (behavior.go) stabilizes and limits the
// proposal (the 5-minute downscale window and the 2x/4 scale-up limit without behavior; the
// scale-up and scale-down stabilization windows, Pods/Percent policies over their periods and
// selectPolicy Max/Min/Disabled with one), recording what it needs in a History.
//
// Resource metrics come from metrics.k8s.io through k8s.io/metrics (APIMetrics) behind the
// MetricsSource interface; Pods, Object and External metrics need custom.metrics.k8s.io and
// external.metrics.k8s.io, which Skiff does not serve: they fail with upstream's events and
// ScalingActive False conditions (FailedGetPodsMetric, FailedGetObjectMetric,
// FailedGetExternalMetric).
package podautoscaler
