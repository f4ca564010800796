package cronjob

import (
	"errors"
	"fmt"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// nextScheduleDelta is added to the wait for the next start, so the controller wakes just after it.
const nextScheduleDelta = 100 * time.Millisecond

var controllerKind = batchv1.SchemeGroupVersion.WithKind("CronJob")

// Input is what one sync decides from.
type Input struct {
	CronJob *batchv1.CronJob
	// Jobs are the Jobs the CronJob controls (a controller reference to its UID).
	Jobs []*batchv1.Job
	Now  time.Time
}

// Event is a core/v1 event to emit on the CronJob.
type Event struct {
	Type, Reason, Message string
}

// Plan is what one sync does.
type Plan struct {
	// Status is the CronJob's status to write (written only when it changed).
	Status batchv1.CronJobStatus
	// Create is the Job to create, nil for none.
	Create *batchv1.Job
	// Delete are the Jobs to delete in the background: active ones a Replace policy replaces,
	// then finished ones beyond the history limits.
	Delete []*batchv1.Job
	Events []Event
	// RequeueAfter is when to sync again (the next start time); zero for not at all.
	RequeueAfter time.Duration
}

func finished(j *batchv1.Job) (batchv1.JobConditionType, bool) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.Type, true
		}
	}
	return "", false
}

func jobRef(j *batchv1.Job) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: "Job", APIVersion: batchv1.SchemeGroupVersion.String(), Namespace: j.Namespace,
		Name: j.Name, UID: j.UID, ResourceVersion: j.ResourceVersion}
}

// Decide is one sync of a CronJob, as upstream's syncCronJob and cleanupFinishedJobs.
func Decide(in Input) Plan {
	cj := in.CronJob
	p := Plan{Status: *cj.Status.DeepCopy()}
	st := &p.Status
	event := func(typ, reason, format string, args ...any) {
		p.Events = append(p.Events, Event{typ, reason, fmt.Sprintf(format, args...)})
	}

	// The active list follows the Jobs: finished ones leave it, unknown running ones join it.
	byUID := map[types.UID]*batchv1.Job{}
	for _, j := range in.Jobs {
		byUID[j.UID] = j
	}
	var active []corev1.ObjectReference
	for _, ref := range st.Active {
		j, ok := byUID[ref.UID]
		switch {
		case !ok:
			event(corev1.EventTypeNormal, "MissingJob", "Active job went missing: %v", ref.Name)
		default:
			if typ, done := finished(j); done {
				event(corev1.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.Name, typ)
				continue
			}
			active = append(active, ref)
		}
	}
	inActive := func(uid types.UID) bool {
		for _, r := range active {
			if r.UID == uid {
				return true
			}
		}
		return false
	}
	for _, j := range in.Jobs {
		typ, done := finished(j)
		if !done && !inActive(j.UID) && j.DeletionTimestamp == nil {
			event(corev1.EventTypeWarning, "UnexpectedJob", "Saw a job that the controller did not create or forgot: %s", j.Name)
			active = append(active, jobRef(j))
		}
		if typ == batchv1.JobComplete && j.Status.CompletionTime != nil &&
			(st.LastSuccessfulTime == nil || j.Status.CompletionTime.After(st.LastSuccessfulTime.Time)) {
			t := *j.Status.CompletionTime
			st.LastSuccessfulTime = &t
		}
	}
	st.Active = active
	p.Delete = historyBeyondLimits(cj, in.Jobs)
	if cj.DeletionTimestamp != nil {
		return p
	}

	sched, err := scheduleOf(cj)
	if err != nil {
		var tz *timeZoneError
		if errors.As(err, &tz) {
			event(corev1.EventTypeWarning, "UnknownTimeZone", "%s", err)
		} else {
			event(corev1.EventTypeWarning, "UnparseableSchedule", "%s", err)
		}
		return p
	}
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return p
	}
	s, err := mostRecent(cj, sched, in.Now)
	if err != nil {
		event(corev1.EventTypeWarning, "InvalidSchedule", "invalid schedule: %s : %s", cj.Spec.Schedule, err)
		return p
	}
	if s.Missed > manyMissed {
		event(corev1.EventTypeWarning, "TooManyMissedTimes", "too many missed start times: %d. Set or decrease .spec.startingDeadlineSeconds or check clock skew", s.Missed)
	}
	if next := nextStart(sched, in.Now); !next.IsZero() {
		p.RequeueAfter = next.Add(nextScheduleDelta).Sub(in.Now)
	}
	if s.MostRecent == nil {
		return p
	}
	at := *s.MostRecent
	if d := cj.Spec.StartingDeadlineSeconds; d != nil && at.Add(time.Duration(*d)*time.Second).Before(in.Now) {
		event(corev1.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s", at.UTC().Format(time.RFC1123Z))
		return p
	}
	name := jobName(cj, at)
	for _, r := range st.Active {
		if r.Name == name {
			return p
		}
	}
	if st.LastScheduleTime != nil && st.LastScheduleTime.Time.Equal(at) {
		return p
	}
	switch cj.Spec.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		if len(st.Active) > 0 {
			event(corev1.EventTypeNormal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
			return p
		}
	case batchv1.ReplaceConcurrent:
		for _, r := range st.Active {
			if j, ok := byUID[r.UID]; ok {
				p.Delete = append(p.Delete, j)
			}
		}
		st.Active = nil
	}
	p.Create = JobFor(cj, at)
	t := metav1.NewTime(at)
	st.LastScheduleTime = &t
	return p
}

// JobFor is the Job a CronJob starts at a scheduled time (upstream's getJobFromTemplate2): the
// template's labels, annotations and spec, the scheduled time in its time zone as an annotation.
func JobFor(cj *batchv1.CronJob, at time.Time) *batchv1.Job {
	t := cj.Spec.JobTemplate
	labels := map[string]string{}
	for k, v := range t.Labels {
		labels[k] = v
	}
	annotations := map[string]string{}
	for k, v := range t.Annotations {
		annotations[k] = v
	}
	loc := time.UTC
	if cj.Spec.TimeZone != nil {
		if l, err := time.LoadLocation(*cj.Spec.TimeZone); err == nil {
			loc = l
		}
	}
	annotations[batchv1.CronJobScheduledTimestampAnnotation] = at.In(loc).Format(time.RFC3339)
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: jobName(cj, at), Namespace: cj.Namespace, Labels: labels, Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, controllerKind)},
		},
	}
	t.Spec.DeepCopyInto(&j.Spec)
	return j
}

// historyBeyondLimits returns the oldest finished Jobs beyond successfulJobsHistoryLimit and
// failedJobsHistoryLimit (oldest by start time, then creation).
func historyBeyondLimits(cj *batchv1.CronJob, jobs []*batchv1.Job) []*batchv1.Job {
	if cj.Spec.SuccessfulJobsHistoryLimit == nil && cj.Spec.FailedJobsHistoryLimit == nil {
		return nil
	}
	var ok, failed []*batchv1.Job
	for _, j := range jobs {
		if j.DeletionTimestamp != nil {
			continue
		}
		switch typ, _ := finished(j); typ {
		case batchv1.JobComplete:
			ok = append(ok, j)
		case batchv1.JobFailed:
			failed = append(failed, j)
		}
	}
	return append(oldestBeyond(ok, cj.Spec.SuccessfulJobsHistoryLimit), oldestBeyond(failed, cj.Spec.FailedJobsHistoryLimit)...)
}

func oldestBeyond(jobs []*batchv1.Job, limit *int32) []*batchv1.Job {
	if limit == nil || len(jobs) <= int(*limit) {
		return nil
	}
	start := func(j *batchv1.Job) time.Time {
		if j.Status.StartTime != nil {
			return j.Status.StartTime.Time
		}
		return j.CreationTimestamp.Time
	}
	sort.SliceStable(jobs, func(a, b int) bool {
		if !start(jobs[a]).Equal(start(jobs[b])) {
			return start(jobs[a]).Before(start(jobs[b]))
		}
		return jobs[a].Name < jobs[b].Name
	})
	return jobs[:len(jobs)-int(*limit)]
}
