// Package batch is the storage of batch/v1 (Provider): jobs and cronjobs, each with status.
//
// As upstream's job strategy, a Job's selector and template labels are generated from its UID
// and name unless spec.manualSelector is set, and a delete without a propagation policy orphans
// the Job's pods (batch/v1 kept that default for compatibility).
package batch
