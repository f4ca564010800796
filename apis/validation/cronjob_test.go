package validation

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func validCronJob() *batchv1.CronJob {
	t := validTemplate(nil)
	t.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	return defaulted(&batchv1.CronJob{
		ObjectMeta: objMeta("hello"),
		Spec: batchv1.CronJobSpec{
			Schedule:    "*/1 * * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: t}},
		},
	})
}

func TestCronJobCreate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*batchv1.CronJob)
		want   []want
	}{
		{"valid", func(*batchv1.CronJob) {}, nil},
		{"descriptor and time zone", func(c *batchv1.CronJob) {
			c.Spec.Schedule = "@hourly"
			c.Spec.TimeZone = ptr("Europe/Paris")
		}, nil},
		{"no schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "" }, []want{{"spec.schedule", field.ErrorTypeRequired, ""}}},
		{"unparseable schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "every minute" }, []want{
			{"spec.schedule", field.ErrorTypeInvalid, "expected exactly 5 fields"}}},
		{"TZ in schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "TZ=UTC 0 * * * *" }, []want{
			{"spec.schedule", field.ErrorTypeInvalid, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"}}},
		{"unknown time zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr("Mars/Olympus") }, []want{
			{"spec.timeZone", field.ErrorTypeInvalid, "unknown time zone Mars/Olympus"}}},
		{"Local time zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr("Local") }, []want{
			{"spec.timeZone", field.ErrorTypeInvalid, "must be an explicit time zone"}}},
		{"empty time zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr("") }, []want{
			{"spec.timeZone", field.ErrorTypeInvalid, "must be nil or non-empty"}}},
		{"bad concurrency policy", func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = "Sometimes" }, []want{
			{"spec.concurrencyPolicy", field.ErrorTypeNotSupported, ""}}},
		{"negative deadline and limits", func(c *batchv1.CronJob) {
			c.Spec.StartingDeadlineSeconds = ptr(int64(-1))
			c.Spec.SuccessfulJobsHistoryLimit = ptr(int32(-1))
			c.Spec.FailedJobsHistoryLimit = ptr(int32(-1))
		}, []want{
			{"spec.startingDeadlineSeconds", field.ErrorTypeInvalid, "must be greater than or equal to 0"},
			{"spec.successfulJobsHistoryLimit", field.ErrorTypeInvalid, "must be greater than or equal to 0"},
			{"spec.failedJobsHistoryLimit", field.ErrorTypeInvalid, "must be greater than or equal to 0"},
		}},
		{"name too long", func(c *batchv1.CronJob) { c.Name = strings.Repeat("a", 53) }, []want{
			{"metadata.name", field.ErrorTypeInvalid, "must be no more than 52 characters"}}},
		{"selector in the template", func(c *batchv1.CronJob) {
			c.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
		}, []want{{"spec.jobTemplate.spec.selector", field.ErrorTypeInvalid, "`selector` will be auto-generated"}}},
		{"manual selector", func(c *batchv1.CronJob) { c.Spec.JobTemplate.Spec.ManualSelector = ptr(true) }, []want{
			{"spec.jobTemplate.spec.manualSelector", field.ErrorTypeNotSupported, ""}}},
		{"restart policy Always", func(c *batchv1.CronJob) {
			c.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
		}, []want{
			{"spec.jobTemplate.spec.template.spec.restartPolicy", field.ErrorTypeNotSupported, ""}}},
		{"no containers", func(c *batchv1.CronJob) { c.Spec.JobTemplate.Spec.Template.Spec.Containers = nil }, []want{
			{"spec.jobTemplate.spec.template.spec.containers", field.ErrorTypeRequired, ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validCronJob()
			tc.mutate(c)
			checkErrs(t, ValidateCreate(c), tc.want)
		})
	}
}

func TestCronJobUpdate(t *testing.T) {
	old := validCronJob()
	old.Name = strings.Repeat("a", 60)
	c := old.DeepCopy()
	c.Spec.Schedule = "0 0 * * *"
	// Long names stay updatable.
	checkErrs(t, ValidateUpdate(c, old), nil)
	// A stored schedule with TZ keeps it.
	old.Spec.Schedule = "CRON_TZ=UTC 0 * * * *"
	c = old.DeepCopy()
	checkErrs(t, ValidateUpdate(c, old), nil)
	c.Spec.TimeZone = ptr("UTC")
	checkErrs(t, ValidateUpdate(c, old), []want{{"spec.schedule", field.ErrorTypeInvalid, "cannot use both timeZone field and TZ or CRON_TZ in schedule"}})
}

func TestCronJobDefaults(t *testing.T) {
	c := validCronJob()
	if c.Spec.ConcurrencyPolicy != batchv1.AllowConcurrent || !ptrEq(c.Spec.Suspend, false) ||
		!ptrEq(c.Spec.SuccessfulJobsHistoryLimit, 3) || !ptrEq(c.Spec.FailedJobsHistoryLimit, 1) {
		t.Errorf("defaults: %+v", c.Spec)
	}
	if c.Spec.JobTemplate.Spec.Template.Spec.DNSPolicy != corev1.DNSClusterFirst {
		t.Errorf("pod template not defaulted: %+v", c.Spec.JobTemplate.Spec.Template.Spec)
	}
	if c.Spec.JobTemplate.Spec.BackoffLimit != nil {
		t.Errorf("job defaults applied to the template: %+v", c.Spec.JobTemplate.Spec)
	}
}

func ptrEq[T comparable](p *T, v T) bool { return p != nil && *p == v }
