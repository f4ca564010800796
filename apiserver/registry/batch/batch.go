package batch

import (
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apis/validation"
	"github.com/skiff-dev/skiff/apiserver/registry"
)

var batch = batchv1.SchemeGroupVersion

// JobKind is batch/v1 jobs, with status, after upstream's job strategy: unless manualSelector,
// the selector and template labels are generated from the Job's UID and name; deletes without a
// propagation policy orphan the pods, as upstream does for batch/v1.
var JobKind = &registry.Kind{GroupVersion: batch, Resource: "jobs", Singular: "job", Namespaced: true,
	Categories: []string{"all"}, Status: true, Generation: true, OrphanDependents: true,
	New: func() runtime.Object { return &batchv1.Job{} }, NewList: func() runtime.Object { return &batchv1.JobList{} },
	Fields: func(obj runtime.Object) fields.Set {
		return fields.Set{"status.successful": strconv.Itoa(int(obj.(*batchv1.Job).Status.Succeeded))}
	},
	PrepareForCreate: func(obj runtime.Object) {
		job := obj.(*batchv1.Job)
		// spec.scheduling is behind an alpha gate upstream, off by default: dropped, as there.
		job.Spec.Scheduling = nil
		if job.Spec.ManualSelector == nil || !*job.Spec.ManualSelector {
			generateJobSelector(job)
		}
	},
	PrepareForUpdate: func(obj, old runtime.Object) {
		if old.(*batchv1.Job).Spec.Scheduling == nil {
			obj.(*batchv1.Job).Spec.Scheduling = nil
		}
	},
}

// CronJobKind is batch/v1 cronjobs, with status.
var CronJobKind = &registry.Kind{GroupVersion: batch, Resource: "cronjobs", Singular: "cronjob", Namespaced: true,
	ShortNames: []string{"cj"}, Categories: []string{"all"}, Status: true, Generation: true,
	New: func() runtime.Object { return &batchv1.CronJob{} }, NewList: func() runtime.Object { return &batchv1.CronJobList{} }}

// Provider builds batch/v1: jobs and cronjobs.
type Provider struct{}

func (Provider) GroupName() string { return batchv1.GroupName }

func (Provider) NewRESTStorage(c *registry.Context) (map[string]map[string]rest.Storage, error) {
	m := map[string]rest.Storage{}
	if err := c.AddKinds(m, JobKind, CronJobKind); err != nil {
		return nil, err
	}
	return map[string]map[string]rest.Storage{batch.Version: m}, nil
}

// generateJobSelector adds the job-name and controller-uid labels (legacy and
// batch.kubernetes.io/) the user did not set to the template, and selects the controller UID.
// Conflicting user labels are left for validation to refuse.
func generateJobSelector(job *batchv1.Job) {
	t := &job.Spec.Template
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	for _, l := range []string{validation.LegacyJobNameLabel, validation.JobNameLabel} {
		if _, ok := t.Labels[l]; !ok {
			t.Labels[l] = job.Name
		}
	}
	for _, l := range []string{validation.LegacyControllerUIDLabel, validation.ControllerUIDLabel} {
		if _, ok := t.Labels[l]; !ok {
			t.Labels[l] = string(job.UID)
		}
	}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &metav1.LabelSelector{}
	}
	if job.Spec.Selector.MatchLabels == nil {
		job.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := job.Spec.Selector.MatchLabels[validation.ControllerUIDLabel]; !ok {
		job.Spec.Selector.MatchLabels[validation.ControllerUIDLabel] = string(job.UID)
	}
}
