package defaults

import (
	"math"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// defaultBatch applies upstream's batch/v1 defaults (pkg/apis/batch/v1/defaults.go) and reports
// whether obj was a batch kind.
func defaultBatch(obj runtime.Object) bool {
	switch o := obj.(type) {
	case *batchv1.Job:
		defaultJob(o)
	case *batchv1.JobList:
		for i := range o.Items {
			defaultJob(&o.Items[i])
		}
	case *batchv1.CronJob:
		defaultCronJob(o)
	case *batchv1.CronJobList:
		for i := range o.Items {
			defaultCronJob(&o.Items[i])
		}
	default:
		return false
	}
	return true
}

func defaultJob(j *batchv1.Job) {
	s := &j.Spec
	// A non-parallel job may leave both unset: both become 1.
	if s.Completions == nil && s.Parallelism == nil {
		s.Completions = ptrTo(int32(1))
		s.Parallelism = ptrTo(int32(1))
	}
	if s.Parallelism == nil {
		s.Parallelism = ptrTo(int32(1))
	}
	if s.BackoffLimit == nil {
		if s.BackoffLimitPerIndex != nil {
			s.BackoffLimit = ptrTo(int32(math.MaxInt32))
		} else {
			s.BackoffLimit = ptrTo(int32(6))
		}
	}
	if s.Template.Labels != nil && len(j.Labels) == 0 {
		j.Labels = s.Template.Labels
	}
	if s.CompletionMode == nil {
		s.CompletionMode = ptrTo(batchv1.NonIndexedCompletion)
	}
	if s.Suspend == nil {
		s.Suspend = ptrTo(false)
	}
	if s.PodFailurePolicy != nil {
		for _, rule := range s.PodFailurePolicy.Rules {
			for i := range rule.OnPodConditions {
				if rule.OnPodConditions[i].Status == "" {
					rule.OnPodConditions[i].Status = corev1.ConditionTrue
				}
			}
		}
	}
	if s.PodReplacementPolicy == nil {
		if s.PodFailurePolicy != nil {
			s.PodReplacementPolicy = ptrTo(batchv1.Failed)
		} else {
			s.PodReplacementPolicy = ptrTo(batchv1.TerminatingOrFailed)
		}
	}
	if s.ManualSelector == nil {
		s.ManualSelector = ptrTo(false)
	}
	defaultPodTemplateSpec(&s.Template)
}

// defaultCronJob is upstream's SetDefaults_CronJob; the job template gets the pod template's
// defaults, and the Job defaults only when the controller creates the Job.
func defaultCronJob(c *batchv1.CronJob) {
	s := &c.Spec
	if s.ConcurrencyPolicy == "" {
		s.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if s.Suspend == nil {
		s.Suspend = ptrTo(false)
	}
	if s.SuccessfulJobsHistoryLimit == nil {
		s.SuccessfulJobsHistoryLimit = ptrTo(int32(3))
	}
	if s.FailedJobsHistoryLimit == nil {
		s.FailedJobsHistoryLimit = ptrTo(int32(1))
	}
	defaultPodTemplateSpec(&s.JobTemplate.Spec.Template)
}
