package printers

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
)

func init() {
	register(schema.GroupResource{Group: batchv1.GroupName, Resource: "jobs"},
		newConvertor(jobColumns, func(l *batchv1.JobList) []batchv1.Job { return l.Items }, printJob))
	register(schema.GroupResource{Group: batchv1.GroupName, Resource: "cronjobs"},
		newConvertor(cronJobColumns, func(l *batchv1.CronJobList) []batchv1.CronJob { return l.Items }, printCronJob))
}

var cronJobColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Schedule", Type: "string", Description: batchv1.CronJobSpec{}.SwaggerDoc()["schedule"]},
	{Name: "Timezone", Type: "string", Description: batchv1.CronJobSpec{}.SwaggerDoc()["timeZone"]},
	{Name: "Suspend", Type: "boolean", Description: batchv1.CronJobSpec{}.SwaggerDoc()["suspend"]},
	{Name: "Active", Type: "integer", Description: batchv1.CronJobStatus{}.SwaggerDoc()["active"]},
	{Name: "Last Schedule", Type: "string", Description: batchv1.CronJobStatus{}.SwaggerDoc()["lastScheduleTime"]},
	ageColumn,
	{Name: "Containers", Type: "string", Priority: 1, Description: containersColumnDesc},
	{Name: "Images", Type: "string", Priority: 1, Description: imagesColumnDesc},
	{Name: "Selector", Type: "string", Priority: 1, Description: batchv1.JobSpec{}.SwaggerDoc()["selector"]},
}

func printCronJob(c *batchv1.CronJob) metav1.TableRow {
	last := "<none>"
	if c.Status.LastScheduleTime != nil {
		last = translateTimestampSince(*c.Status.LastScheduleTime)
	}
	timeZone := "<none>"
	if c.Spec.TimeZone != nil {
		timeZone = *c.Spec.TimeZone
	}
	suspend := "<unset>"
	if c.Spec.Suspend != nil {
		suspend = fmt.Sprintf("%t", *c.Spec.Suspend)
	}
	names, images := layoutContainerCells(c.Spec.JobTemplate.Spec.Template.Spec.Containers)
	return cells(c.Name, c.Spec.Schedule, timeZone, suspend, int64(len(c.Status.Active)), last,
		translateTimestampSince(c.CreationTimestamp), names, images, metav1.FormatLabelSelector(c.Spec.JobTemplate.Spec.Selector))
}

var jobColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Status", Type: "string", Description: "Status of the job."},
	{Name: "Completions", Type: "string", Description: batchv1.JobStatus{}.SwaggerDoc()["succeeded"]},
	{Name: "Duration", Type: "string", Description: "Time required to complete the job."},
	ageColumn,
	{Name: "Containers", Type: "string", Priority: 1, Description: containersColumnDesc},
	{Name: "Images", Type: "string", Priority: 1, Description: imagesColumnDesc},
	{Name: "Selector", Type: "string", Priority: 1, Description: batchv1.JobSpec{}.SwaggerDoc()["selector"]},
}

func printJob(j *batchv1.Job) metav1.TableRow {
	var completions string
	switch {
	case j.Spec.Completions != nil:
		completions = fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
	case j.Spec.Parallelism != nil && *j.Spec.Parallelism > 1:
		completions = fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, *j.Spec.Parallelism)
	default:
		completions = fmt.Sprintf("%d/1", j.Status.Succeeded)
	}
	var took string
	switch {
	case j.Status.StartTime == nil:
	case j.Status.CompletionTime == nil:
		took = duration.HumanDuration(now().Sub(j.Status.StartTime.Time))
	default:
		took = duration.HumanDuration(j.Status.CompletionTime.Sub(j.Status.StartTime.Time))
	}
	names, images := layoutContainerCells(j.Spec.Template.Spec.Containers)
	return cells(j.Name, jobStatus(j), completions, took, translateTimestampSince(j.CreationTimestamp),
		names, images, metav1.FormatLabelSelector(j.Spec.Selector))
}

// jobStatus is the STATUS column, in upstream's order of precedence.
func jobStatus(j *batchv1.Job) string {
	has := func(t batchv1.JobConditionType) bool {
		for _, c := range j.Status.Conditions {
			if c.Type == t && c.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	}
	switch {
	case has(batchv1.JobComplete):
		return "Complete"
	case has(batchv1.JobFailed):
		return "Failed"
	case j.DeletionTimestamp != nil:
		return "Terminating"
	case has(batchv1.JobSuspended):
		return "Suspended"
	case has(batchv1.JobFailureTarget):
		return "FailureTarget"
	case has(batchv1.JobSuccessCriteriaMet):
		return "SuccessCriteriaMet"
	}
	return "Running"
}
