package ttlafterfinished

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestExpiresIn(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	finished := func(typ batchv1.JobConditionType, ago time.Duration) batchv1.JobStatus {
		return batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: typ, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-ago))}}}
	}
	deleting := metav1.NewTime(now)
	cases := []struct {
		name   string
		job    batchv1.Job
		left   time.Duration
		expire bool
	}{
		{"no ttl", batchv1.Job{Status: finished(batchv1.JobComplete, time.Hour)}, 0, false},
		{"running", batchv1.Job{Spec: batchv1.JobSpec{TTLSecondsAfterFinished: ptr.To[int32](10)}}, 0, false},
		{"complete, ttl not passed", batchv1.Job{Spec: batchv1.JobSpec{TTLSecondsAfterFinished: ptr.To[int32](10)}, Status: finished(batchv1.JobComplete, 4*time.Second)}, 6 * time.Second, true},
		{"failed, ttl passed", batchv1.Job{Spec: batchv1.JobSpec{TTLSecondsAfterFinished: ptr.To[int32](10)}, Status: finished(batchv1.JobFailed, time.Minute)}, -50 * time.Second, true},
		{"ttl 0", batchv1.Job{Spec: batchv1.JobSpec{TTLSecondsAfterFinished: ptr.To[int32](0)}, Status: finished(batchv1.JobComplete, 0)}, 0, true},
		{"suspended is not finished", batchv1.Job{Spec: batchv1.JobSpec{TTLSecondsAfterFinished: ptr.To[int32](0)}, Status: finished(batchv1.JobSuspended, time.Hour)}, 0, false},
		{"being deleted", batchv1.Job{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &deleting}, Spec: batchv1.JobSpec{TTLSecondsAfterFinished: ptr.To[int32](0)}, Status: finished(batchv1.JobComplete, time.Hour)}, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			left, ok := ExpiresIn(&tc.job, now)
			if left != tc.left || ok != tc.expire {
				t.Errorf("ExpiresIn = %v, %v; want %v, %v", left, ok, tc.left, tc.expire)
			}
		})
	}
}
