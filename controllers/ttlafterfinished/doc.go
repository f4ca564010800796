// Package ttlafterfinished is upstream's TTL-after-finished controller: a Job with
// spec.ttlSecondsAfterFinished is deleted (foreground propagation, so its pods go first) that
// many seconds after it finished (its Complete or Failed condition's time).
package ttlafterfinished
