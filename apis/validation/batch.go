package validation

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	unversionedvalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The labels the API server adds to a Job's template and selector (pkg/apis/batch's names).
const (
	JobNameLabel             = "batch.kubernetes.io/job-name"
	ControllerUIDLabel       = "batch.kubernetes.io/controller-uid"
	LegacyJobNameLabel       = "job-name"
	LegacyControllerUIDLabel = "controller-uid"
)

// Upstream's limits (pkg/apis/batch/validation).
const (
	maxParallelismForIndexedJob                  = 100_000
	maxFailedIndexesLimitForBackoffLimitPerIndex = 100_000
	completionsSoftLimit                         = 100_000
	parallelismLimitForHighCompletions           = 10_000
	maxPodFailurePolicyRules                     = 20
	maxPodFailurePolicyOnExitCodesValues         = 255
	maxPodFailurePolicyOnPodConditionsPatterns   = 20
	maxSuccessPolicyRules                        = 20
	maxSucceededIndexesLength                    = 64 * 1024
	maxManagedByLength                           = 63
)

var (
	supportedPodFailurePolicyActions = sets.New(batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyActionFailJob,
		batchv1.PodFailurePolicyActionFailIndex, batchv1.PodFailurePolicyActionIgnore)
	supportedOnExitCodesOperators = sets.New(batchv1.PodFailurePolicyOnExitCodesOpIn, batchv1.PodFailurePolicyOnExitCodesOpNotIn)
	supportedOnPodConditionStatus = sets.New(corev1.ConditionFalse, corev1.ConditionTrue, corev1.ConditionUnknown)
	validPodReplacementPolicies   = sets.New(batchv1.TerminatingOrFailed, batchv1.Failed)
)

// jobOptions are the relaxations upstream's strategy derives from the stored Job.
type jobOptions struct {
	// requirePrefixedLabels checks the batch.kubernetes.io/ labels of generated selectors (always
	// on create; on update only when the stored template has them).
	requirePrefixedLabels bool
	// allowMutableSchedulingDirectives lets a suspended Job that never started change its
	// template's node affinity, node selector, tolerations, labels, annotations and gates.
	allowMutableSchedulingDirectives bool
	// allowMutablePodResources lets a suspended Job change its containers' resources.
	allowMutablePodResources bool
}

// validateBatchCreate validates a new batch object; ok is false for other kinds.
func validateBatchCreate(obj runtime.Object) (field.ErrorList, bool) {
	switch o := obj.(type) {
	case *batchv1.Job:
		return validateJob(o, jobOptions{requirePrefixedLabels: true}), true
	case *batchv1.CronJob:
		return validateCronJobCreate(o), true
	}
	return nil, false
}

// validateBatchUpdate validates an update of a batch object's main resource.
func validateBatchUpdate(obj, old runtime.Object) (field.ErrorList, bool) {
	if c, ok := obj.(*batchv1.CronJob); ok {
		o, ok := old.(*batchv1.CronJob)
		if !ok {
			return mismatchedOld(obj, old), true
		}
		return validateCronJobUpdate(c, o), true
	}
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return nil, false
	}
	o, ok := old.(*batchv1.Job)
	if !ok {
		return mismatchedOld(obj, old), true
	}
	return validateJobUpdate(j, o), true
}

// validateBatchStatusUpdate validates an update through a batch object's status subresource.
func validateBatchStatusUpdate(obj, old runtime.Object) (field.ErrorList, bool) {
	if c, ok := obj.(*batchv1.CronJob); ok {
		o, ok := old.(*batchv1.CronJob)
		if !ok {
			return mismatchedOld(obj, old), true
		}
		return validateObjectMetaUpdate(&c.ObjectMeta, &o.ObjectMeta, field.NewPath("metadata")), true
	}
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return nil, false
	}
	o, ok := old.(*batchv1.Job)
	if !ok {
		return mismatchedOld(obj, old), true
	}
	allErrs := validateObjectMetaUpdate(&j.ObjectMeta, &o.ObjectMeta, field.NewPath("metadata"))
	return append(allErrs, validateJobStatus(j, field.NewPath("status"))...), true
}

func validateJob(job *batchv1.Job, opts jobOptions) field.ErrorList {
	allErrs := validateObjectMeta(&job.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	if isIndexed(&job.Spec) && job.Spec.Completions != nil && *job.Spec.Completions > 0 {
		// Indexed pods get the hostname <job>-<index>, which must be a DNS label.
		host := fmt.Sprintf("%s-%d", job.Name, *job.Spec.Completions-1)
		if errs := validation.IsDNS1123Label(host); len(errs) > 0 {
			allErrs = append(allErrs, field.Invalid(field.NewPath("metadata", "name"), job.Name,
				fmt.Sprintf("will not able to create pod with invalid DNS label: %s", host)))
		}
	}
	allErrs = append(allErrs, validateGeneratedSelector(job, opts.requirePrefixedLabels)...)
	return append(allErrs, validateJobSpec(&job.Spec, field.NewPath("spec"))...)
}

func isIndexed(spec *batchv1.JobSpec) bool {
	return spec.CompletionMode != nil && *spec.CompletionMode == batchv1.IndexedCompletion
}

// validateHasLabel is upstream's ValidateHasLabel.
func validateHasLabel(m metav1.ObjectMeta, fldPath *field.Path, key, want string) field.ErrorList {
	got, ok := m.Labels[key]
	if !ok {
		return field.ErrorList{field.Required(fldPath.Child("labels").Key(key), "")}
	}
	if got != want {
		return field.ErrorList{field.Invalid(fldPath.Child("labels").Key(key), got, "must be '"+want+"'")}
	}
	return nil
}

// validateGeneratedSelector checks, unless manualSelector, that the selector and template
// labels are the ones the API server generated from the Job's UID and name.
func validateGeneratedSelector(job *batchv1.Job, prefixed bool) field.ErrorList {
	if job.Spec.ManualSelector != nil && *job.Spec.ManualSelector || job.Spec.Selector == nil {
		return nil
	}
	var allErrs field.ErrorList
	if job.UID == "" {
		allErrs = append(allErrs, field.Required(field.NewPath("metadata", "uid"), ""))
	}
	tp := field.NewPath("spec", "template", "metadata")
	allErrs = append(allErrs, validateHasLabel(job.Spec.Template.ObjectMeta, tp, LegacyControllerUIDLabel, string(job.UID))...)
	allErrs = append(allErrs, validateHasLabel(job.Spec.Template.ObjectMeta, tp, LegacyJobNameLabel, job.Name)...)
	expected := labels.Set{LegacyControllerUIDLabel: string(job.UID), LegacyJobNameLabel: job.Name}
	if prefixed {
		allErrs = append(allErrs, validateHasLabel(job.Spec.Template.ObjectMeta, tp, ControllerUIDLabel, string(job.UID))...)
		allErrs = append(allErrs, validateHasLabel(job.Spec.Template.ObjectMeta, tp, JobNameLabel, job.Name)...)
		expected[ControllerUIDLabel] = string(job.UID)
		expected[JobNameLabel] = job.Name
	}
	if sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector); err == nil && !sel.Matches(expected) {
		allErrs = append(allErrs, field.Invalid(field.NewPath("spec", "selector"), job.Spec.Selector, "`selector` not auto-generated"))
	}
	return allErrs
}

func validateJobSpec(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateJobSpecCommon(spec, fldPath)
	if spec.Selector == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("selector"), ""))
	} else {
		allErrs = append(allErrs, unversionedvalidation.ValidateLabelSelector(spec.Selector, unversionedvalidation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
	}
	if sel, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !sel.Matches(labels.Set(spec.Template.Labels)) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("template", "metadata", "labels"), spec.Template.Labels, "`selector` does not match template `labels`"))
	}
	return allErrs
}

// validateJobSpecCommon is what a Job and a CronJob's job template share: the fields, the pod
// template and its restart policy (upstream's validateJobSpec).
func validateJobSpecCommon(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateJobSpecFields(spec, fldPath)
	allErrs = append(allErrs, validatePodTemplateSpec(&spec.Template, fldPath.Child("template"), podValidationOptions{})...)
	rp := fldPath.Child("template", "spec", "restartPolicy")
	allowed := []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}
	switch policy := spec.Template.Spec.RestartPolicy; {
	case policy == "":
		allErrs = append(allErrs, field.Required(rp, fmt.Sprintf("valid values: %q", allowed)))
	case !slices.Contains(allowed, policy):
		allErrs = append(allErrs, field.NotSupported(rp, policy, allowed))
	case spec.PodFailurePolicy != nil && policy != corev1.RestartPolicyNever:
		allErrs = append(allErrs, field.Invalid(rp, policy, fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever)))
	}
	return allErrs
}

func validateJobSpecFields(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	nonneg := func(v *int32, name string) {
		if v != nil {
			allErrs = append(allErrs, validateNonnegativeField(int64(*v), fldPath.Child(name))...)
		}
	}
	nonneg(spec.Parallelism, "parallelism")
	nonneg(spec.Completions, "completions")
	if spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, validateNonnegativeField(*spec.ActiveDeadlineSeconds, fldPath.Child("activeDeadlineSeconds"))...)
	}
	nonneg(spec.BackoffLimit, "backoffLimit")
	nonneg(spec.TTLSecondsAfterFinished, "ttlSecondsAfterFinished")
	nonneg(spec.BackoffLimitPerIndex, "backoffLimitPerIndex")
	if spec.MaxFailedIndexes != nil {
		nonneg(spec.MaxFailedIndexes, "maxFailedIndexes")
		if spec.BackoffLimitPerIndex == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
		}
	}
	if spec.ManagedBy != nil {
		p := fldPath.Child("managedBy")
		for _, msg := range validation.IsDomainPrefixedPath(p, *spec.ManagedBy) {
			allErrs = append(allErrs, msg)
		}
		if len(*spec.ManagedBy) > maxManagedByLength {
			allErrs = append(allErrs, field.TooLong(p, *spec.ManagedBy, maxManagedByLength))
		}
	}
	if spec.CompletionMode != nil {
		mode := *spec.CompletionMode
		if mode != batchv1.NonIndexedCompletion && mode != batchv1.IndexedCompletion {
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("completionMode"), mode, []batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}))
		}
	}
	if isIndexed(spec) {
		if spec.Completions == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
		}
		if spec.Parallelism != nil && *spec.Parallelism > maxParallelismForIndexedJob {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("parallelism"), *spec.Parallelism,
				fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismForIndexedJob, batchv1.IndexedCompletion)))
		}
		if spec.Completions != nil && spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > *spec.Completions {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "must be less than or equal to completions"))
		}
		if spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > maxFailedIndexesLimitForBackoffLimitPerIndex {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes,
				fmt.Sprintf("must be less than or equal to %d", maxFailedIndexesLimitForBackoffLimitPerIndex)))
		}
		if spec.Completions != nil && spec.BackoffLimitPerIndex != nil && *spec.Completions > completionsSoftLimit &&
			spec.Parallelism != nil && *spec.Parallelism > parallelismLimitForHighCompletions {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("parallelism"), *spec.Parallelism,
				fmt.Sprintf("must be less than or equal to %d when completions are above %d and used with backoff limit per index",
					parallelismLimitForHighCompletions, completionsSoftLimit)))
		}
	} else {
		if spec.BackoffLimitPerIndex != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("backoffLimitPerIndex"), *spec.BackoffLimitPerIndex, "requires indexed completion mode"))
		}
		if spec.MaxFailedIndexes != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "requires indexed completion mode"))
		}
	}
	if spec.PodFailurePolicy != nil {
		allErrs = append(allErrs, validatePodFailurePolicy(spec, fldPath.Child("podFailurePolicy"))...)
	}
	if spec.SuccessPolicy != nil {
		allErrs = append(allErrs, validateSuccessPolicy(spec, fldPath.Child("successPolicy"))...)
	}
	if p := spec.PodReplacementPolicy; p != nil {
		rp := fldPath.Child("podReplacementPolicy")
		if spec.PodFailurePolicy != nil {
			if *p != batchv1.Failed {
				allErrs = append(allErrs, field.NotSupported(rp, *p, []batchv1.PodReplacementPolicy{batchv1.Failed}))
			}
		} else if !validPodReplacementPolicies.Has(*p) {
			allErrs = append(allErrs, field.NotSupported(rp, *p, sets.List(validPodReplacementPolicies)))
		}
	}
	return allErrs
}

func validatePodFailurePolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	rulesPath := fldPath.Child("rules")
	rules := spec.PodFailurePolicy.Rules
	if len(rules) > maxPodFailurePolicyRules {
		allErrs = append(allErrs, field.TooMany(rulesPath, len(rules), maxPodFailurePolicyRules))
	}
	names := sets.New[string]()
	for _, c := range spec.Template.Spec.Containers {
		names.Insert(c.Name)
	}
	for _, c := range spec.Template.Spec.InitContainers {
		names.Insert(c.Name)
	}
	actions := sets.List(supportedPodFailurePolicyActions.Clone().Delete(batchv1.PodFailurePolicyActionFailIndex))
	for i := range rules {
		rule, rulePath := &rules[i], rulesPath.Index(i)
		actionPath := rulePath.Child("action")
		switch {
		case rule.Action == "":
			allErrs = append(allErrs, field.Required(actionPath, fmt.Sprintf("valid values: %q", actions)))
		case rule.Action == batchv1.PodFailurePolicyActionFailIndex:
			if spec.BackoffLimitPerIndex == nil {
				allErrs = append(allErrs, field.Invalid(actionPath, rule.Action, "requires the backoffLimitPerIndex to be set"))
			}
		case !supportedPodFailurePolicyActions.Has(rule.Action):
			allErrs = append(allErrs, field.NotSupported(actionPath, rule.Action, actions))
		}
		if rule.OnExitCodes != nil {
			allErrs = append(allErrs, validateOnExitCodes(rule.OnExitCodes, rulePath.Child("onExitCodes"), names)...)
		}
		if len(rule.OnPodConditions) > 0 {
			allErrs = append(allErrs, validateOnPodConditions(rule.OnPodConditions, rulePath.Child("onPodConditions"))...)
		}
		if rule.OnExitCodes != nil && len(rule.OnPodConditions) > 0 {
			allErrs = append(allErrs, field.Invalid(rulePath, field.OmitValueType{}, "specifying both OnExitCodes and OnPodConditions is not supported"))
		}
		if rule.OnExitCodes == nil && len(rule.OnPodConditions) == 0 {
			allErrs = append(allErrs, field.Invalid(rulePath, field.OmitValueType{}, "specifying one of OnExitCodes and OnPodConditions is required"))
		}
	}
	return allErrs
}

func validateOnExitCodes(req *batchv1.PodFailurePolicyOnExitCodesRequirement, p *field.Path, names sets.Set[string]) field.ErrorList {
	var allErrs field.ErrorList
	ops := sets.List(supportedOnExitCodesOperators)
	if req.Operator == "" {
		allErrs = append(allErrs, field.Required(p.Child("operator"), fmt.Sprintf("valid values: %q", ops)))
	} else if !supportedOnExitCodesOperators.Has(req.Operator) {
		allErrs = append(allErrs, field.NotSupported(p.Child("operator"), req.Operator, ops))
	}
	if req.ContainerName != nil && !names.Has(*req.ContainerName) {
		allErrs = append(allErrs, field.Invalid(p.Child("containerName"), *req.ContainerName, "must be one of the container or initContainer names in the pod template"))
	}
	vp := p.Child("values")
	switch {
	case len(req.Values) == 0:
		allErrs = append(allErrs, field.Invalid(vp, req.Values, "at least one value is required"))
	case len(req.Values) > maxPodFailurePolicyOnExitCodesValues:
		allErrs = append(allErrs, field.TooMany(vp, len(req.Values), maxPodFailurePolicyOnExitCodesValues))
	default:
		ordered := true
		seen := sets.New[int32]()
		for j, v := range req.Values {
			if req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && v == 0 {
				allErrs = append(allErrs, field.Invalid(vp.Index(j), v, "must not be 0 for the In operator"))
			}
			if seen.Has(v) {
				allErrs = append(allErrs, field.Duplicate(vp.Index(j), v))
			}
			seen.Insert(v)
			if j > 0 && req.Values[j-1] > v {
				ordered = false
			}
		}
		if !ordered {
			allErrs = append(allErrs, field.Invalid(vp, req.Values, "must be ordered"))
		}
	}
	return allErrs
}

func validateOnPodConditions(patterns []batchv1.PodFailurePolicyOnPodConditionsPattern, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(patterns) > maxPodFailurePolicyOnPodConditionsPatterns {
		allErrs = append(allErrs, field.TooMany(p, len(patterns), maxPodFailurePolicyOnPodConditionsPatterns))
	}
	statuses := sets.List(supportedOnPodConditionStatus)
	for j, pat := range patterns {
		pp := p.Index(j)
		allErrs = append(allErrs, unversionedvalidation.ValidateLabelName(string(pat.Type), pp.Child("type"))...)
		switch {
		case pat.Status == "":
			allErrs = append(allErrs, field.Required(pp.Child("status"), fmt.Sprintf("valid values: %q", statuses)))
		case !supportedOnPodConditionStatus.Has(pat.Status):
			allErrs = append(allErrs, field.NotSupported(pp.Child("status"), pat.Status, statuses))
		}
	}
	return allErrs
}

func validateSuccessPolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	rulesPath := fldPath.Child("rules")
	if !isIndexed(spec) {
		allErrs = append(allErrs, field.Invalid(fldPath, spec.SuccessPolicy, "requires indexed completion mode"))
	}
	rules := spec.SuccessPolicy.Rules
	if len(rules) == 0 {
		allErrs = append(allErrs, field.Required(rulesPath, "at least one rules must be specified when the successPolicy is specified"))
	}
	if len(rules) > maxSuccessPolicyRules {
		allErrs = append(allErrs, field.TooMany(rulesPath, len(rules), maxSuccessPolicyRules))
	}
	completions := int32(0)
	if spec.Completions != nil {
		completions = *spec.Completions
	}
	for i, rule := range rules {
		rp := rulesPath.Index(i)
		if rule.SucceededCount == nil && rule.SucceededIndexes == nil {
			allErrs = append(allErrs, field.Required(rp, "at least one of succeededCount or succeededIndexes must be specified"))
		}
		var total int32
		if rule.SucceededIndexes != nil {
			ip := rp.Child("succeededIndexes")
			if len(*rule.SucceededIndexes) > maxSucceededIndexesLength {
				allErrs = append(allErrs, field.TooLong(ip, *rule.SucceededIndexes, maxSucceededIndexesLength))
			}
			var err error
			if total, err = ParseIndexes(*rule.SucceededIndexes, completions); err != nil {
				allErrs = append(allErrs, field.Invalid(ip, *rule.SucceededIndexes, fmt.Sprintf("error parsing succeededIndexes: %s", err)))
			}
		}
		if rule.SucceededCount != nil {
			cp := rp.Child("succeededCount")
			allErrs = append(allErrs, validateNonnegativeField(int64(*rule.SucceededCount), cp)...)
			if *rule.SucceededCount > completions {
				allErrs = append(allErrs, field.Invalid(cp, *rule.SucceededCount, fmt.Sprintf("must be less than or equal to %d (the number of specified completions)", completions)))
			}
			if rule.SucceededIndexes != nil && *rule.SucceededCount > total {
				allErrs = append(allErrs, field.Invalid(cp, *rule.SucceededCount, fmt.Sprintf("must be less than or equal to %d (the number of indexes in the specified succeededIndexes field)", total)))
			}
		}
	}
	return allErrs
}

// ParseIndexes checks an index set such as "1,3-5,7" (ordered, non-overlapping intervals of
// indexes below completions) and returns how many indexes it holds.
func ParseIndexes(s string, completions int32) (int32, error) {
	if s == "" {
		return 0, nil
	}
	var total int32
	prev := int64(-1)
	for _, part := range strings.Split(s, ",") {
		lo, hi, found := strings.Cut(part, "-")
		first, err := strconv.ParseInt(lo, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("cannot convert string to integer for index: %q", lo)
		}
		last := first
		if found {
			if last, err = strconv.ParseInt(hi, 10, 32); err != nil {
				return 0, fmt.Errorf("cannot convert string to integer for index: %q", hi)
			}
		}
		if first < 0 || last >= int64(completions) {
			return 0, fmt.Errorf("too large index: %q", part)
		}
		if first > last {
			return 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", first, last)
		}
		if first <= prev {
			return 0, fmt.Errorf("overlapping intervals or non-increasing order, previous: %d, current: %d", prev, first)
		}
		prev = last
		total += int32(last - first + 1)
	}
	return total, nil
}

func validateJobUpdate(job, old *batchv1.Job) field.ErrorList {
	_, hadName := old.Spec.Template.Labels[JobNameLabel]
	_, hadUID := old.Spec.Template.Labels[ControllerUIDLabel]
	suspended := old.Spec.Suspend != nil && *old.Spec.Suspend
	opts := jobOptions{
		requirePrefixedLabels:            hadName && hadUID,
		allowMutableSchedulingDirectives: suspended && old.Status.StartTime == nil,
		allowMutablePodResources:         suspended,
	}
	allErrs := validateObjectMetaUpdate(&job.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, validateJob(job, opts)...)
	spec, oldSpec, p := &job.Spec, &old.Spec, field.NewPath("spec")
	allErrs = append(allErrs, validateCompletionsUpdate(spec, oldSpec, p.Child("completions"))...)
	allErrs = append(allErrs, validateImmutableField(spec.Selector, oldSpec.Selector, p.Child("selector"))...)
	allErrs = append(allErrs, validateJobTemplateUpdate(spec, oldSpec, p, opts)...)
	allErrs = append(allErrs, validateImmutableField(spec.CompletionMode, oldSpec.CompletionMode, p.Child("completionMode"))...)
	allErrs = append(allErrs, validateImmutableField(spec.PodFailurePolicy, oldSpec.PodFailurePolicy, p.Child("podFailurePolicy"))...)
	allErrs = append(allErrs, validateImmutableField(spec.BackoffLimitPerIndex, oldSpec.BackoffLimitPerIndex, p.Child("backoffLimitPerIndex"))...)
	allErrs = append(allErrs, validateImmutableField(spec.ManagedBy, oldSpec.ManagedBy, p.Child("managedBy"))...)
	return append(allErrs, validateImmutableField(spec.SuccessPolicy, oldSpec.SuccessPolicy, p.Child("successPolicy"))...)
}

// validateCompletionsUpdate: completions are immutable, except for Indexed Jobs that change them
// together with parallelism (elastic Indexed Jobs).
func validateCompletionsUpdate(spec, old *batchv1.JobSpec, p *field.Path) field.ErrorList {
	if !isIndexed(spec) {
		return validateImmutableField(spec.Completions, old.Completions, p)
	}
	if apiequality.Semantic.DeepEqual(spec.Completions, old.Completions) || spec.Completions == nil {
		return nil
	}
	if spec.Parallelism == nil || *spec.Completions != *spec.Parallelism {
		return field.ErrorList{field.Invalid(p, spec.Completions, "can only be modified in tandem with spec.parallelism")}
	}
	return nil
}

// validateJobTemplateUpdate: the template is immutable, but for the scheduling directives of a
// suspended Job that never started and the resources of a suspended Job.
func validateJobTemplateUpdate(spec, old *batchv1.JobSpec, p *field.Path, opts jobOptions) field.ErrorList {
	t, ot := &spec.Template, old.Template.DeepCopy()
	if opts.allowMutableSchedulingDirectives {
		switch {
		case t.Spec.Affinity == nil && ot.Spec.Affinity != nil:
			ot.Spec.Affinity.NodeAffinity = nil
			if apiequality.Semantic.DeepEqual(*ot.Spec.Affinity, corev1.Affinity{}) {
				ot.Spec.Affinity = nil
			}
		case t.Spec.Affinity != nil && ot.Spec.Affinity == nil:
			ot.Spec.Affinity = &corev1.Affinity{NodeAffinity: t.Spec.Affinity.NodeAffinity}
		case t.Spec.Affinity != nil && ot.Spec.Affinity != nil:
			ot.Spec.Affinity.NodeAffinity = t.Spec.Affinity.NodeAffinity
		}
		ot.Spec.NodeSelector = t.Spec.NodeSelector
		ot.Spec.Tolerations = t.Spec.Tolerations
		ot.Annotations = t.Annotations
		ot.Labels = t.Labels
		ot.Spec.SchedulingGates = t.Spec.SchedulingGates
	}
	if opts.allowMutablePodResources {
		for i := range ot.Spec.Containers {
			if i < len(t.Spec.Containers) && ot.Spec.Containers[i].Name == t.Spec.Containers[i].Name {
				ot.Spec.Containers[i].Resources = t.Spec.Containers[i].Resources
			}
		}
		for i := range ot.Spec.InitContainers {
			if i < len(t.Spec.InitContainers) && ot.Spec.InitContainers[i].Name == t.Spec.InitContainers[i].Name {
				ot.Spec.InitContainers[i].Resources = t.Spec.InitContainers[i].Resources
			}
		}
	}
	return validateImmutableField(t, ot, p.Child("template"))
}

// validateJobStatus checks the counters and index sets a status update writes.
func validateJobStatus(job *batchv1.Job, p *field.Path) field.ErrorList {
	s := &job.Status
	allErrs := validateNonnegativeField(int64(s.Active), p.Child("active"))
	allErrs = append(allErrs, validateNonnegativeField(int64(s.Succeeded), p.Child("succeeded"))...)
	allErrs = append(allErrs, validateNonnegativeField(int64(s.Failed), p.Child("failed"))...)
	if s.Ready != nil {
		allErrs = append(allErrs, validateNonnegativeField(int64(*s.Ready), p.Child("ready"))...)
	}
	if s.Terminating != nil {
		allErrs = append(allErrs, validateNonnegativeField(int64(*s.Terminating), p.Child("terminating"))...)
	}
	if isIndexed(&job.Spec) && job.Spec.Completions != nil {
		if _, err := ParseIndexes(s.CompletedIndexes, *job.Spec.Completions); err != nil {
			allErrs = append(allErrs, field.Invalid(p.Child("completedIndexes"), s.CompletedIndexes, fmt.Sprintf("error parsing completedIndexes: %s", err)))
		}
		if s.FailedIndexes != nil {
			if _, err := ParseIndexes(*s.FailedIndexes, *job.Spec.Completions); err != nil {
				allErrs = append(allErrs, field.Invalid(p.Child("failedIndexes"), *s.FailedIndexes, fmt.Sprintf("error parsing failedIndexes: %s", err)))
			}
		}
	}
	if s.CompletionTime != nil && s.StartTime != nil && s.CompletionTime.Before(s.StartTime) {
		allErrs = append(allErrs, field.Invalid(p.Child("completionTime"), s.CompletionTime, "completionTime cannot be set before startTime"))
	}
	return allErrs
}
