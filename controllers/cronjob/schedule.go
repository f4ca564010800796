package cronjob

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
)

// manyMissed is how many missed start times are worth a warning (upstream's threshold).
const manyMissed = 100

// scheduleOf parses the CronJob's schedule in its time zone: a TZ= or CRON_TZ= prefix (kept on
// older CronJobs) wins, then spec.timeZone; an unknown zone is an error.
func scheduleOf(cj *batchv1.CronJob) (cron.Schedule, error) {
	spec := cj.Spec.Schedule
	if !strings.Contains(spec, "TZ") && cj.Spec.TimeZone != nil {
		if _, err := time.LoadLocation(*cj.Spec.TimeZone); err != nil {
			return nil, &timeZoneError{zone: *cj.Spec.TimeZone, err: err}
		}
		spec = fmt.Sprintf("TZ=%s %s", *cj.Spec.TimeZone, spec)
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("unparseable schedule %q: %w", cj.Spec.Schedule, err)
	}
	return s, nil
}

type timeZoneError struct {
	zone string
	err  error
}

func (e *timeZoneError) Error() string { return fmt.Sprintf("invalid timeZone: %q: %v", e.zone, e.err) }
func (e *timeZoneError) Unwrap() error { return e.err }

// scheduled is what the schedule says at a moment.
type scheduled struct {
	// Earliest is the time after which starts count: the last scheduled start (or the creation),
	// moved up to now minus startingDeadlineSeconds.
	Earliest time.Time
	// MostRecent is the latest start time after Earliest and not after now; nil when none.
	MostRecent *time.Time
	// Missed counts the start times between Earliest and now (MostRecent included).
	Missed int
}

// errNoStart is a schedule whose next start never comes (such as February 31).
var errNoStart = errors.New("the schedule has no start time after the last one")

// mostRecent finds the start times the CronJob has not run between its last start and now.
func mostRecent(cj *batchv1.CronJob, sched cron.Schedule, now time.Time) (scheduled, error) {
	s := scheduled{Earliest: cj.CreationTimestamp.Time}
	if cj.Status.LastScheduleTime != nil {
		s.Earliest = cj.Status.LastScheduleTime.Time
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil {
		if limit := now.Add(-time.Duration(*d) * time.Second); limit.After(s.Earliest) {
			s.Earliest = limit
		}
	}
	t := sched.Next(s.Earliest)
	if t.IsZero() {
		return s, errNoStart
	}
	for !t.After(now) {
		s.Missed++
		tt := t
		s.MostRecent = &tt
		if s.Missed > manyMissed {
			// A clock far off (or a CronJob created long ago and never run): jump close to now
			// by the schedule's current period, then walk the rest.
			next := sched.Next(t)
			if period := next.Sub(t); period > 0 {
				if skip := int(now.Sub(next) / period); skip > 1 {
					t = t.Add(time.Duration(skip-1) * period)
					s.Missed += skip - 1
				}
			}
		}
		next := sched.Next(t)
		if next.IsZero() || !next.After(t) {
			break
		}
		t = next
	}
	return s, nil
}

// nextStart is the first start time after now.
func nextStart(sched cron.Schedule, now time.Time) time.Time { return sched.Next(now) }

// jobName is the name of the Job of one scheduled time, as upstream's: the CronJob's name and the
// scheduled time in minutes since the epoch.
func jobName(cj *batchv1.CronJob, at time.Time) string {
	return fmt.Sprintf("%s-%d", cj.Name, at.Unix()/60)
}
