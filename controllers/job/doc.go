// Package job is the Job controller, after upstream's pkg/controller/job: it runs a batch/v1
// Job's pods to completion (parallelism, completions, NonIndexed and Indexed completion modes),
// retries failed pods with an exponential backoff up to backoffLimit (or backoffLimitPerIndex),
// enforces activeDeadlineSeconds, suspends and resumes, applies podFailurePolicy, successPolicy
// and podReplacementPolicy, and tracks finished pods with the batch.kubernetes.io/job-tracking
// finalizer and status.uncountedTerminatedPods so that no pod is counted twice or lost.
//
// Decide is the pure part: from a Job, its pods and the time it returns the status to write,
// the pods to create and delete, the finalizers to remove and the events to emit; the Reconciler
// reads the cluster, calls it and carries the plan out.
package job
