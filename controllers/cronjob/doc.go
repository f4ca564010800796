// Package cronjob is the CronJob controller, after upstream's pkg/controller/cronjob (v2): at
// each time a CronJob's schedule names (in spec.timeZone, UTC by default) it creates a Job from
// spec.jobTemplate, named <cronjob>-<minutes since the epoch of the scheduled time>, so that one
// scheduled time never gets two Jobs. It honours suspend, concurrencyPolicy (Allow, Forbid,
// Replace) and startingDeadlineSeconds, keeps status.active, lastScheduleTime and
// lastSuccessfulTime, and deletes finished Jobs beyond the history limits.
//
// Decide is the pure part: from a CronJob, its Jobs and the time it returns the status to write,
// the Job to create, the Jobs to delete, the events and when to look again; the Reconciler reads
// the cluster, calls it and carries the plan out. Tests drive it with any clock.
package cronjob
