package cronjob

import (
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// created is when every test CronJob was created: 10:00:30 UTC.
var created = time.Date(2026, 3, 1, 10, 0, 30, 0, time.UTC)

func newCronJob(schedule string, mutate ...func(*batchv1.CronJob)) *batchv1.CronJob {
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "ns", UID: "cj-uid", CreationTimestamp: metav1.NewTime(created)},
		Spec: batchv1.CronJobSpec{
			Schedule: schedule, ConcurrencyPolicy: batchv1.AllowConcurrent, Suspend: ptr.To(false),
			SuccessfulJobsHistoryLimit: ptr.To[int32](3), FailedJobsHistoryLimit: ptr.To[int32](1),
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "hello"}},
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyOnFailure, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}},
			},
		},
	}
	for _, m := range mutate {
		m(cj)
	}
	return cj
}

func at(hhmm string) time.Time {
	t, err := time.Parse("15:04:05", hhmm)
	if err != nil {
		panic(err)
	}
	return time.Date(2026, 3, 1, t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// job is a Job of the test CronJob started at a scheduled time, finished with cond if given.
func job(start time.Time, cond batchv1.JobConditionType) *batchv1.Job {
	cj := newCronJob("* * * * *")
	j := JobFor(cj, start)
	j.UID = types.UID("uid-" + j.Name)
	j.Status.StartTime = &metav1.Time{Time: start}
	if cond != "" {
		j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue}}
		done := metav1.NewTime(start.Add(10 * time.Second))
		j.Status.CompletionTime = &done
	}
	return j
}

func activeRef(j *batchv1.Job) corev1.ObjectReference { return jobRef(j) }

func reasons(p Plan) []string {
	var out []string
	for _, e := range p.Events {
		out = append(out, e.Reason)
	}
	return out
}

func names(jobs []*batchv1.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.Name)
	}
	return out
}

func TestDecide(t *testing.T) {
	minute := func(ts time.Time) string { return fmt.Sprintf("hello-%d", ts.Unix()/60) }
	running := job(at("10:01:00"), "")
	tests := []struct {
		name    string
		cj      *batchv1.CronJob
		jobs    []*batchv1.Job
		now     time.Time
		create  string // name of the Job created, "" for none
		delete  []string
		last    *time.Time
		active  int
		events  []string
		requeue time.Duration
	}{
		{name: "before the first start", cj: newCronJob("* * * * *"), now: at("10:00:45"),
			requeue: 15*time.Second + nextScheduleDelta},
		{name: "first start", cj: newCronJob("* * * * *"), now: at("10:01:00"),
			create: minute(at("10:01:00")), last: ptr.To(at("10:01:00")), requeue: time.Minute + nextScheduleDelta},
		{name: "late start within the deadline", cj: newCronJob("*/5 * * * *", func(c *batchv1.CronJob) { c.Spec.StartingDeadlineSeconds = ptr.To[int64](60) }),
			now: at("10:05:30"), create: minute(at("10:05:00")), last: ptr.To(at("10:05:00")), requeue: 4*time.Minute + 30*time.Second + nextScheduleDelta},
		// Starts older than the deadline are not looked for at all (as upstream's).
		{name: "too late: not started", cj: newCronJob("*/5 * * * *", func(c *batchv1.CronJob) { c.Spec.StartingDeadlineSeconds = ptr.To[int64](10) }),
			now: at("10:05:30"), requeue: 4*time.Minute + 30*time.Second + nextScheduleDelta},
		{name: "several missed: only the most recent starts", cj: newCronJob("* * * * *"), now: at("10:04:10"),
			create: minute(at("10:04:00")), last: ptr.To(at("10:04:00")), requeue: 50*time.Second + nextScheduleDelta},
		{name: "suspended", cj: newCronJob("* * * * *", func(c *batchv1.CronJob) { c.Spec.Suspend = ptr.To(true) }), now: at("10:04:10")},
		{name: "already started this time", cj: newCronJob("* * * * *", func(c *batchv1.CronJob) {
			c.Status.LastScheduleTime = &metav1.Time{Time: at("10:01:00")}
			c.Status.Active = []corev1.ObjectReference{activeRef(running)}
		}), jobs: []*batchv1.Job{running}, now: at("10:01:20"), active: 1, last: ptr.To(at("10:01:00")), requeue: 40*time.Second + nextScheduleDelta},
		{name: "forbid with one running", cj: newCronJob("* * * * *", func(c *batchv1.CronJob) {
			c.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent
			c.Status.LastScheduleTime = &metav1.Time{Time: at("10:01:00")}
			c.Status.Active = []corev1.ObjectReference{activeRef(running)}
		}), jobs: []*batchv1.Job{running}, now: at("10:02:00"), active: 1, events: []string{"JobAlreadyActive"},
			last: ptr.To(at("10:01:00")), requeue: time.Minute + nextScheduleDelta},
		{name: "allow with one running", cj: newCronJob("* * * * *", func(c *batchv1.CronJob) {
			c.Status.LastScheduleTime = &metav1.Time{Time: at("10:01:00")}
			c.Status.Active = []corev1.ObjectReference{activeRef(running)}
		}), jobs: []*batchv1.Job{running}, now: at("10:02:00"), active: 1, create: minute(at("10:02:00")),
			last: ptr.To(at("10:02:00")), requeue: time.Minute + nextScheduleDelta},
		{name: "replace the running one", cj: newCronJob("* * * * *", func(c *batchv1.CronJob) {
			c.Spec.ConcurrencyPolicy = batchv1.ReplaceConcurrent
			c.Status.LastScheduleTime = &metav1.Time{Time: at("10:01:00")}
			c.Status.Active = []corev1.ObjectReference{activeRef(running)}
		}), jobs: []*batchv1.Job{running}, now: at("10:02:00"), create: minute(at("10:02:00")), delete: []string{running.Name},
			last: ptr.To(at("10:02:00")), requeue: time.Minute + nextScheduleDelta},
		{name: "a finished job leaves the active list and sets the last success", cj: newCronJob("* * * * *", func(c *batchv1.CronJob) {
			c.Status.LastScheduleTime = &metav1.Time{Time: at("10:01:00")}
			c.Status.Active = []corev1.ObjectReference{activeRef(running)}
		}), jobs: []*batchv1.Job{job(at("10:01:00"), batchv1.JobComplete)}, now: at("10:01:30"),
			events: []string{"SawCompletedJob"}, last: ptr.To(at("10:01:00")), requeue: 30*time.Second + nextScheduleDelta},
		{name: "a missing active job", cj: newCronJob("* * * * *", func(c *batchv1.CronJob) {
			c.Status.LastScheduleTime = &metav1.Time{Time: at("10:01:00")}
			c.Status.Active = []corev1.ObjectReference{activeRef(running)}
		}), now: at("10:01:30"), events: []string{"MissingJob"}, last: ptr.To(at("10:01:00")), requeue: 30*time.Second + nextScheduleDelta},
		{name: "an unknown running job joins the active list", cj: newCronJob("* * * * *", func(c *batchv1.CronJob) {
			c.Status.LastScheduleTime = &metav1.Time{Time: at("10:01:00")}
		}), jobs: []*batchv1.Job{running}, now: at("10:01:30"), active: 1, events: []string{"UnexpectedJob"}, last: ptr.To(at("10:01:00")), requeue: 30*time.Second + nextScheduleDelta},
		{name: "history beyond the limits", cj: newCronJob("0 0 1 1 *", func(c *batchv1.CronJob) {
			c.Status.LastScheduleTime = &metav1.Time{Time: at("10:01:00")}
		}), jobs: []*batchv1.Job{
			job(at("10:01:00"), batchv1.JobComplete), job(at("10:02:00"), batchv1.JobComplete), job(at("10:03:00"), batchv1.JobComplete),
			job(at("10:04:00"), batchv1.JobComplete), job(at("10:05:00"), batchv1.JobFailed), job(at("10:06:00"), batchv1.JobFailed),
		}, now: at("10:07:00"), delete: []string{minute(at("10:01:00")), minute(at("10:05:00"))},
			last: ptr.To(at("10:01:00")), requeue: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).Sub(at("10:07:00")) + nextScheduleDelta},
		{name: "unknown time zone", cj: newCronJob("* * * * *", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr.To("Mars/Olympus") }),
			now: at("10:05:00"), events: []string{"UnknownTimeZone"}},
		{name: "being deleted", cj: newCronJob("* * * * *", func(c *batchv1.CronJob) { c.DeletionTimestamp = &metav1.Time{Time: at("10:00:40")} }),
			now: at("10:05:00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Decide(Input{CronJob: tt.cj, Jobs: tt.jobs, Now: tt.now})
			var created string
			if p.Create != nil {
				created = p.Create.Name
			}
			if created != tt.create {
				t.Errorf("created %q, want %q", created, tt.create)
			}
			if got := names(p.Delete); fmt.Sprint(got) != fmt.Sprint(tt.delete) {
				t.Errorf("deleted %v, want %v", got, tt.delete)
			}
			var last *time.Time
			if p.Status.LastScheduleTime != nil {
				last = &p.Status.LastScheduleTime.Time
			}
			if (last == nil) != (tt.last == nil) || last != nil && !last.Equal(*tt.last) {
				t.Errorf("lastScheduleTime %v, want %v", last, tt.last)
			}
			if len(p.Status.Active) != tt.active {
				t.Errorf("%d active, want %d", len(p.Status.Active), tt.active)
			}
			if fmt.Sprint(reasons(p)) != fmt.Sprint(tt.events) {
				t.Errorf("events %v, want %v", reasons(p), tt.events)
			}
			if p.RequeueAfter != tt.requeue {
				t.Errorf("requeue after %v, want %v", p.RequeueAfter, tt.requeue)
			}
		})
	}
}

func TestJobFor(t *testing.T) {
	cj := newCronJob("0 9 * * *", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr.To("Europe/Paris") })
	start := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	j := JobFor(cj, start)
	if j.Name != fmt.Sprintf("hello-%d", start.Unix()/60) || j.Namespace != "ns" {
		t.Errorf("name %s/%s", j.Namespace, j.Name)
	}
	if got := j.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != "2026-03-01T09:00:00+01:00" {
		t.Errorf("scheduled timestamp %q", got)
	}
	if j.Labels["app"] != "hello" || !metav1.IsControlledBy(j, cj) || j.Spec.Template.Spec.Containers[0].Image != "busybox" {
		t.Errorf("job %+v", j)
	}
}

func TestTimeZoneSchedule(t *testing.T) {
	// 09:00 in Paris is 08:00 UTC in winter.
	cj := newCronJob("0 9 * * *", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr.To("Europe/Paris") })
	cj.CreationTimestamp = metav1.NewTime(time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC))
	p := Decide(Input{CronJob: cj, Now: time.Date(2026, 3, 1, 8, 0, 5, 0, time.UTC)})
	if p.Create == nil || !p.Status.LastScheduleTime.Time.Equal(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("plan %+v", p)
	}
}

func TestManyMissed(t *testing.T) {
	cj := newCronJob("* * * * *")
	now := created.Add(30 * 24 * time.Hour)
	s, err := mostRecent(cj, mustSchedule(t, cj), now)
	if err != nil {
		t.Fatal(err)
	}
	want := now.Truncate(time.Minute)
	if s.MostRecent == nil || !s.MostRecent.Equal(want) || s.Missed != 30*24*60 {
		t.Fatalf("most recent %v (want %v), missed %d", s.MostRecent, want, s.Missed)
	}
	p := Decide(Input{CronJob: cj, Now: now})
	if fmt.Sprint(reasons(p)) != "[TooManyMissedTimes]" || p.Create == nil {
		t.Fatalf("events %v, create %v", reasons(p), p.Create)
	}
}

func mustSchedule(t *testing.T, cj *batchv1.CronJob) interface{ Next(time.Time) time.Time } {
	t.Helper()
	s, err := scheduleOf(cj)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
