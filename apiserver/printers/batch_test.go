package printers

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestJobRows(t *testing.T) {
	gr := schema.GroupResource{Group: "batch", Resource: "jobs"}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "u1"}}
	cond := func(typ batchv1.JobConditionType) []batchv1.JobCondition {
		return []batchv1.JobCondition{{Type: typ, Status: corev1.ConditionTrue}}
	}
	start, end := ago(10*time.Minute), ago(7*time.Minute)
	deleting := objMeta("gone", time.Hour)
	deleting.DeletionTimestamp = &end
	tests := []struct {
		name string
		j    batchv1.Job
		want []any
	}{
		{"complete", batchv1.Job{ObjectMeta: objMeta("pi", time.Hour),
			Spec:   batchv1.JobSpec{Completions: ptrTo[int32](3), Selector: sel, Template: template(corev1.Container{Name: "pi", Image: "perl"})},
			Status: batchv1.JobStatus{Succeeded: 3, StartTime: &start, CompletionTime: &end, Conditions: cond(batchv1.JobComplete)}},
			[]any{"pi", "Complete", "3/3", "3m", "60m", "pi", "perl", "batch.kubernetes.io/controller-uid=u1"}},
		{"running, work queue", batchv1.Job{ObjectMeta: objMeta("q", time.Hour),
			Spec:   batchv1.JobSpec{Parallelism: ptrTo[int32](4)},
			Status: batchv1.JobStatus{Succeeded: 1, StartTime: &start}},
			[]any{"q", "Running", "1/1 of 4", "10m", "60m", "", "", "<none>"}},
		{"failed", batchv1.Job{ObjectMeta: objMeta("f", time.Minute), Spec: batchv1.JobSpec{Completions: ptrTo[int32](1)},
			Status: batchv1.JobStatus{Conditions: cond(batchv1.JobFailed)}},
			[]any{"f", "Failed", "0/1", "", "60s", "", "", "<none>"}},
		{"suspended", batchv1.Job{ObjectMeta: objMeta("s", time.Minute), Spec: batchv1.JobSpec{Parallelism: ptrTo[int32](1)},
			Status: batchv1.JobStatus{Conditions: cond(batchv1.JobSuspended)}},
			[]any{"s", "Suspended", "0/1", "", "60s", "", "", "<none>"}},
		{"terminating", batchv1.Job{ObjectMeta: deleting, Status: batchv1.JobStatus{Conditions: cond(batchv1.JobFailureTarget)}},
			[]any{"gone", "Terminating", "0/1", "", "60m", "", "", "<none>"}},
		{"failure target", batchv1.Job{ObjectMeta: objMeta("ft", time.Minute), Status: batchv1.JobStatus{Conditions: cond(batchv1.JobFailureTarget)}},
			[]any{"ft", "FailureTarget", "0/1", "", "60s", "", "", "<none>"}},
		{"success criteria met", batchv1.Job{ObjectMeta: objMeta("sc", time.Minute), Status: batchv1.JobStatus{Conditions: cond(batchv1.JobSuccessCriteriaMet)}},
			[]any{"sc", "SuccessCriteriaMet", "0/1", "", "60s", "", "", "<none>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCells(t, rowCells(t, gr, &tt.j), tt.want)
		})
	}
}

func TestCronJobRows(t *testing.T) {
	last := ago(5 * time.Minute)
	tz := "Europe/Paris"
	tests := []struct {
		name string
		c    batchv1.CronJob
		want []any
	}{
		{"never scheduled", batchv1.CronJob{ObjectMeta: objMeta("hello", time.Hour),
			Spec: batchv1.CronJobSpec{Schedule: "*/1 * * * *", Suspend: ptrTo(false),
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: template(corev1.Container{Name: "c", Image: "busybox"})}}}},
			[]any{"hello", "*/1 * * * *", "<none>", "false", int64(0), "<none>", "60m", "c", "busybox", "<none>"}},
		{"active, time zone, suspend unset", batchv1.CronJob{ObjectMeta: objMeta("tz", time.Hour),
			Spec:   batchv1.CronJobSpec{Schedule: "@hourly", TimeZone: &tz},
			Status: batchv1.CronJobStatus{Active: []corev1.ObjectReference{{Name: "tz-1"}, {Name: "tz-2"}}, LastScheduleTime: &last}},
			[]any{"tz", "@hourly", "Europe/Paris", "<unset>", int64(2), "5m", "60m", "", "", "<none>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCells(t, rowCells(t, cronJobsGR, &tt.c), tt.want)
		})
	}
}
