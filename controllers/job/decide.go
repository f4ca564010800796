package job

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
)

// Labels, annotations and the finalizer the controller puts on pods (upstream's names).
const (
	JobNameLabel                       = "batch.kubernetes.io/job-name"
	ControllerUIDLabel                 = "batch.kubernetes.io/controller-uid"
	CompletionIndexKey                 = "batch.kubernetes.io/job-completion-index"
	IndexFailureCountAnnotation        = "batch.kubernetes.io/job-index-failure-count"
	IndexIgnoredFailureCountAnnotation = "batch.kubernetes.io/job-index-ignored-failure-count"
	TrackingFinalizer                  = "batch.kubernetes.io/job-tracking"
	// CompletionIndexEnv is the variable every container of an Indexed Job's pod gets.
	CompletionIndexEnv = "JOB_COMPLETION_INDEX"
)

// Condition reasons and messages, as upstream.
const (
	ReasonBackoffLimitExceeded     = "BackoffLimitExceeded"
	ReasonDeadlineExceeded         = "DeadlineExceeded"
	ReasonPodFailurePolicy         = "PodFailurePolicy"
	ReasonFailedIndexes            = "FailedIndexes"
	ReasonMaxFailedIndexesExceeded = "MaxFailedIndexesExceeded"
	ReasonCompletionsReached       = "CompletionsReached"
	ReasonSuccessPolicy            = "SuccessPolicy"
	ReasonSuspended                = "JobSuspended"
	ReasonResumed                  = "JobResumed"
)

// Upstream's pod recreation backoff: 10 s, doubling, at most 6 min.
const (
	DefaultBackoff    = 10 * time.Second
	DefaultMaxBackoff = 6 * time.Minute
)

// Input is what a sync decides from.
type Input struct {
	Job *batchv1.Job
	// Pods are the Job's pods (controlled by it and selected), active, terminating and finished.
	Pods []*corev1.Pod
	Now  time.Time
	// Backoff and MaxBackoff shape the delay before replacing failed pods (zero: upstream's).
	Backoff, MaxBackoff time.Duration
}

// PodToCreate is one pod to create: Index is its completion index (-1 for NonIndexed Jobs).
type PodToCreate struct {
	Index                             int
	FailureCount, IgnoredFailureCount int32
}

// Event is an event to emit on the Job.
type Event struct {
	Type, Reason, Message string
}

// Plan is the outcome of a sync. The Reconciler writes Status first (when it changed), then
// removes the finalizers (their pods are recorded in it), deletes and creates pods.
type Plan struct {
	Status           batchv1.JobStatus
	Create           []PodToCreate
	Delete           []*corev1.Pod
	RemoveFinalizers []*corev1.Pod
	Events           []Event
	// RequeueAfter asks for another sync (a backoff or a deadline ends).
	RequeueAfter time.Duration
}

func int32Or(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

func isIndexed(j *batchv1.Job) bool {
	return j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion
}

func onlyReplaceFailed(j *batchv1.Job) bool {
	return j.Spec.PodReplacementPolicy != nil && *j.Spec.PodReplacementPolicy == batchv1.Failed || j.Spec.PodFailurePolicy != nil
}

func hasFinalizer(p *corev1.Pod) bool {
	for _, f := range p.Finalizers {
		if f == TrackingFinalizer {
			return true
		}
	}
	return false
}

func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// completionIndex reads a pod's index (annotation, else label); -1 when absent or invalid.
func completionIndex(p *corev1.Pod) int {
	v, ok := p.Annotations[CompletionIndexKey]
	if !ok {
		v, ok = p.Labels[CompletionIndexKey]
	}
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return -1
	}
	return i
}

func annotationInt(p *corev1.Pod, key string) int32 {
	v, err := strconv.ParseInt(p.Annotations[key], 10, 32)
	if err != nil || v < 0 {
		return 0
	}
	return int32(v)
}

// finishTime is when a finished pod ended: its containers' last finish, else its last condition
// change, else its creation.
func finishTime(p *corev1.Pod) time.Time {
	var t time.Time
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, s := range list {
			if s.State.Terminated != nil && s.State.Terminated.FinishedAt.After(t) {
				t = s.State.Terminated.FinishedAt.Time
			}
		}
	}
	if !t.IsZero() {
		return t
	}
	for _, c := range p.Status.Conditions {
		if c.LastTransitionTime.After(t) {
			t = c.LastTransitionTime.Time
		}
	}
	if !t.IsZero() {
		return t
	}
	if p.DeletionTimestamp != nil {
		return p.DeletionTimestamp.Time
	}
	return p.CreationTimestamp.Time
}

func findCondition(st *batchv1.JobStatus, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

func conditionTrue(st *batchv1.JobStatus, t batchv1.JobConditionType) bool {
	c := findCondition(st, t)
	return c != nil && c.Status == corev1.ConditionTrue
}

// setCondition adds or updates a condition; it reports whether anything changed.
func setCondition(st *batchv1.JobStatus, t batchv1.JobConditionType, status corev1.ConditionStatus, reason, msg string, now metav1.Time) bool {
	if c := findCondition(st, t); c != nil {
		if c.Status == status && c.Reason == reason && c.Message == msg {
			return false
		}
		if c.Status != status {
			c.LastTransitionTime = now
		}
		c.Status, c.Reason, c.Message, c.LastProbeTime = status, reason, msg, now
		return true
	}
	st.Conditions = append(st.Conditions, batchv1.JobCondition{Type: t, Status: status, Reason: reason, Message: msg,
		LastProbeTime: now, LastTransitionTime: now})
	return true
}

// matchPodFailurePolicy returns the first rule a failed pod matches, its index and the message
// upstream writes for FailJob; nil when none matches (the failure counts).
func matchPodFailurePolicy(pfp *batchv1.PodFailurePolicy, p *corev1.Pod) (*batchv1.PodFailurePolicyRule, string) {
	if pfp == nil || p.Status.Phase != corev1.PodFailed {
		return nil, ""
	}
	for i := range pfp.Rules {
		r := &pfp.Rules[i]
		if req := r.OnExitCodes; req != nil {
			for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
				for _, s := range list {
					if req.ContainerName != nil && *req.ContainerName != s.Name {
						continue
					}
					if s.State.Terminated == nil || s.State.Terminated.ExitCode == 0 {
						continue
					}
					code := s.State.Terminated.ExitCode
					in := false
					for _, v := range req.Values {
						if v == code {
							in = true
						}
					}
					if in == (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn) {
						return r, fmt.Sprintf("Container %s for pod %s/%s failed with exit code %d matching %s rule at index %d",
							s.Name, p.Namespace, p.Name, code, r.Action, i)
					}
				}
			}
		}
		for _, pat := range r.OnPodConditions {
			for _, c := range p.Status.Conditions {
				if c.Type == pat.Type && c.Status == pat.Status {
					return r, fmt.Sprintf("Pod %s/%s has condition %s matching %s rule at index %d", p.Namespace, p.Name, c.Type, r.Action, i)
				}
			}
		}
	}
	return nil, ""
}

// backoffDelay is upstream's delay after n consecutive failures: base·2^(n-1), at most max.
func backoffDelay(n int, base, maxDelay time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	d := base
	for i := 1; i < n; i++ {
		d *= 2
		if d >= maxDelay {
			return maxDelay
		}
	}
	return min(d, maxDelay)
}

// backoffRemaining is how long replacements of pods must still wait: the failed pods since the
// last success set the delay, counted from the last failure.
func backoffRemaining(pods []*corev1.Pod, now time.Time, base, maxDelay time.Duration) time.Duration {
	var lastSuccess, lastFailure time.Time
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded {
			if t := finishTime(p); t.After(lastSuccess) {
				lastSuccess = t
			}
		}
	}
	n := 0
	for _, p := range pods {
		if p.Status.Phase != corev1.PodFailed {
			continue
		}
		if t := finishTime(p); t.After(lastSuccess) {
			n++
			if t.After(lastFailure) {
				lastFailure = t
			}
		}
	}
	if n == 0 {
		return 0
	}
	return max(0, lastFailure.Add(backoffDelay(n, base, maxDelay)).Sub(now))
}

// Decide computes one sync of a Job. It is pure: same input, same plan.
func Decide(in Input) Plan {
	job := in.Job
	base, maxDelay := in.Backoff, in.MaxBackoff
	if base <= 0 {
		base = DefaultBackoff
	}
	if maxDelay <= 0 {
		maxDelay = DefaultMaxBackoff
	}
	now := metav1.NewTime(in.Now)
	st := *job.Status.DeepCopy()
	plan := Plan{}
	indexed := isIndexed(job)
	completions := int(int32Or(job.Spec.Completions, 0))
	parallelism := int(int32Or(job.Spec.Parallelism, 1))
	suspended := job.Spec.Suspend != nil && *job.Spec.Suspend

	// Already finished: only the leftover finalizers remain to be removed.
	if conditionTrue(&st, batchv1.JobComplete) || conditionTrue(&st, batchv1.JobFailed) {
		for _, p := range in.Pods {
			if hasFinalizer(p) {
				plan.RemoveFinalizers = append(plan.RemoveFinalizers, p)
			}
		}
		plan.Status = st
		return plan
	}

	interim := findCondition(&st, batchv1.JobFailureTarget)
	if interim == nil || interim.Status != corev1.ConditionTrue {
		interim = findCondition(&st, batchv1.JobSuccessCriteriaMet)
		if interim != nil && interim.Status != corev1.ConditionTrue {
			interim = nil
		}
	}
	finishing := interim != nil

	// Move recorded terminated pods whose finalizer is gone into the counters.
	byUID := map[types.UID]*corev1.Pod{}
	for _, p := range in.Pods {
		byUID[p.UID] = p
	}
	uncountedSucc, uncountedFail := sets.New[types.UID](), sets.New[types.UID]()
	if u := st.UncountedTerminatedPods; u != nil {
		for _, uid := range u.Succeeded {
			if p, ok := byUID[uid]; ok && hasFinalizer(p) {
				uncountedSucc.Insert(uid)
			} else {
				st.Succeeded++
			}
		}
		for _, uid := range u.Failed {
			if p, ok := byUID[uid]; ok && hasFinalizer(p) {
				uncountedFail.Insert(uid)
			} else {
				st.Failed++
			}
		}
	}

	completed := parseIndexes(st.CompletedIndexes, completions)
	failedIdx := indexSet{}
	if st.FailedIndexes != nil {
		failedIdx = parseIndexes(*st.FailedIndexes, completions)
	}
	perIndex := indexed && job.Spec.BackoffLimitPerIndex != nil

	// Classify the pods.
	var active, terminating []*corev1.Pod
	var failedPods []*corev1.Pod // every failed pod, for the backoff
	var failJobMsg string
	lastFailed := map[int]*corev1.Pod{} // per index, the failed pod with the highest failure count
	ignoredPods := sets.New[types.UID]()
	for _, p := range in.Pods {
		terminal := isTerminal(p)
		if !terminal && p.DeletionTimestamp == nil {
			active = append(active, p)
			continue
		}
		if !terminal {
			terminating = append(terminating, p)
		}
		ix := completionIndex(p)
		validIx := !indexed || ix >= 0 && ix < completions
		// A pod counts as failed when Failed, or, unless only failed pods are replaced, when
		// deleted before succeeding (orphans never reach Failed); a suspended Job's deletions and
		// a finishing Job's terminations do not count.
		failed := p.Status.Phase == corev1.PodFailed ||
			!terminal && !onlyReplaceFailed(job) && !suspended && !finishing
		if p.Status.Phase == corev1.PodFailed {
			failedPods = append(failedPods, p)
		}
		if !hasFinalizer(p) {
			if failed && indexed && validIx {
				if prev, ok := lastFailed[ix]; !ok || annotationInt(p, IndexFailureCountAnnotation) >= annotationInt(prev, IndexFailureCountAnnotation) {
					lastFailed[ix] = p
				}
			}
			continue
		}
		switch {
		case p.Status.Phase == corev1.PodSucceeded && !uncountedFail.Has(p.UID):
			if indexed {
				if validIx {
					completed[ix] = true
				}
			} else {
				uncountedSucc.Insert(p.UID)
			}
			plan.RemoveFinalizers = append(plan.RemoveFinalizers, p)
		case failed:
			if !uncountedFail.Has(p.UID) && validIx {
				rule, msg := matchPodFailurePolicy(job.Spec.PodFailurePolicy, p)
				action := batchv1.PodFailurePolicyActionCount
				if rule != nil {
					action = rule.Action
				}
				switch action {
				case batchv1.PodFailurePolicyActionIgnore:
					ignoredPods.Insert(p.UID)
				case batchv1.PodFailurePolicyActionFailJob:
					if failJobMsg == "" {
						failJobMsg = msg
					}
					uncountedFail.Insert(p.UID)
				case batchv1.PodFailurePolicyActionFailIndex:
					if perIndex {
						failedIdx[ix] = true
					}
					uncountedFail.Insert(p.UID)
				default:
					uncountedFail.Insert(p.UID)
				}
			}
			if indexed && validIx && !ignoredPods.Has(p.UID) {
				if prev, ok := lastFailed[ix]; !ok || annotationInt(p, IndexFailureCountAnnotation) >= annotationInt(prev, IndexFailureCountAnnotation) {
					lastFailed[ix] = p
				}
			}
			plan.RemoveFinalizers = append(plan.RemoveFinalizers, p)
		case !terminal && (suspended || finishing || onlyReplaceFailed(job)):
			// Being deleted without counting: when the Job is suspended or finishing, the pod goes
			// at once; otherwise (podReplacementPolicy Failed) it waits to reach a phase.
			if suspended || finishing {
				plan.RemoveFinalizers = append(plan.RemoveFinalizers, p)
			}
		}
	}

	// Per-index backoff: an index whose failures exceed backoffLimitPerIndex fails.
	if perIndex {
		for ix, p := range lastFailed {
			if !ignoredPods.Has(p.UID) && annotationInt(p, IndexFailureCountAnnotation)+1 > *job.Spec.BackoffLimitPerIndex && !completed[ix] {
				failedIdx[ix] = true
			}
		}
	}

	succeeded := int(st.Succeeded) + uncountedSucc.Len()
	if indexed {
		succeeded = len(completed)
		st.CompletedIndexes = completed.String()
		st.Succeeded = int32(len(completed))
		if perIndex {
			s := failedIdx.String()
			st.FailedIndexes = &s
		}
	}
	failed := int(st.Failed) + uncountedFail.Len()

	if st.StartTime == nil && !suspended {
		st.StartTime = &now
	}

	// Suspension and resumption.
	if !finishing {
		if suspended {
			if setCondition(&st, batchv1.JobSuspended, corev1.ConditionTrue, ReasonSuspended, "Job suspended", now) {
				plan.Events = append(plan.Events, Event{corev1.EventTypeNormal, "Suspended", "Job suspended"})
			}
		} else if conditionTrue(&st, batchv1.JobSuspended) {
			setCondition(&st, batchv1.JobSuspended, corev1.ConditionFalse, ReasonResumed, "Job resumed", now)
			plan.Events = append(plan.Events, Event{corev1.EventTypeNormal, "Resumed", "Job resumed"})
			st.StartTime = &now
		}
	}

	// Decide whether the Job has finished, as upstream's order of checks.
	if !finishing {
		reason, msg := "", ""
		switch {
		case failJobMsg != "":
			reason, msg = ReasonPodFailurePolicy, failJobMsg
		case (failed > int(int32Or(job.Spec.BackoffLimit, 6)) || pastBackoffLimitOnFailure(job, active)):
			reason, msg = ReasonBackoffLimitExceeded, "Job has reached the specified backoff limit"
		case !suspended && pastDeadline(job, st.StartTime, in.Now):
			reason, msg = ReasonDeadlineExceeded, "Job was active longer than specified deadline"
		case perIndex && job.Spec.MaxFailedIndexes != nil && len(failedIdx) > int(*job.Spec.MaxFailedIndexes):
			reason, msg = ReasonMaxFailedIndexesExceeded, "Job has exceeded the specified maximal number of failed indexes"
		}
		if reason != "" {
			setCondition(&st, batchv1.JobFailureTarget, corev1.ConditionTrue, reason, msg, now)
			finishing = true
		} else if sr, smsg := successReached(job, indexed, completed, succeeded, len(active), failedIdx); sr != "" {
			setCondition(&st, batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, sr, smsg, now)
			finishing = true
		} else if perIndex && len(failedIdx) > 0 && len(failedIdx)+len(completed) >= completions {
			setCondition(&st, batchv1.JobFailureTarget, corev1.ConditionTrue, ReasonFailedIndexes, "Job has failed indexes", now)
			finishing = true
		}
	}

	// Pods to create or delete.
	switch {
	case finishing || suspended:
		plan.Delete = append(plan.Delete, active...)
	case indexed:
		manageIndexed(&plan, job, in, active, terminating, completed, failedIdx, lastFailed, parallelism, completions, base, maxDelay)
	default:
		want := parallelism
		if job.Spec.Completions != nil {
			want = min(parallelism, max(0, completions-succeeded))
		} else if succeeded > 0 {
			want = 0
		}
		have := len(active)
		if onlyReplaceFailed(job) {
			have += len(terminating)
		}
		switch {
		case have < want:
			if wait := backoffRemaining(failedPods, in.Now, base, maxDelay); wait > 0 {
				plan.RequeueAfter = wait
			} else {
				for range want - have {
					plan.Create = append(plan.Create, PodToCreate{Index: -1})
				}
			}
		case len(active) > want:
			plan.Delete = append(plan.Delete, pickToDelete(active, len(active)-want)...)
		}
	}

	// Terminal condition once every pod is done and counted.
	remainingActive := len(active) - len(plan.Delete)
	if finishing && remainingActive <= 0 && len(plan.Delete) == 0 && len(terminating) == 0 &&
		uncountedSucc.Len() == 0 && uncountedFail.Len() == 0 && len(plan.RemoveFinalizers) == 0 {
		if c := findCondition(&st, batchv1.JobFailureTarget); c != nil && c.Status == corev1.ConditionTrue {
			setCondition(&st, batchv1.JobFailed, corev1.ConditionTrue, c.Reason, c.Message, now)
			plan.Events = append(plan.Events, Event{corev1.EventTypeWarning, c.Reason, c.Message})
		} else if c := findCondition(&st, batchv1.JobSuccessCriteriaMet); c != nil {
			setCondition(&st, batchv1.JobComplete, corev1.ConditionTrue, c.Reason, c.Message, now)
			st.CompletionTime = &now
			plan.Events = append(plan.Events, Event{corev1.EventTypeNormal, "Completed", "Job completed"})
		}
	}

	// Counters.
	st.Active = int32(len(active))
	ready := int32(0)
	for _, p := range active {
		if isReady(p) {
			ready++
		}
	}
	st.Ready = &ready
	term := int32(len(terminating))
	st.Terminating = &term
	if indexed {
		st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Failed: sortedUIDs(uncountedFail)}
	} else {
		st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Succeeded: sortedUIDs(uncountedSucc), Failed: sortedUIDs(uncountedFail)}
	}
	if len(st.UncountedTerminatedPods.Succeeded) == 0 && len(st.UncountedTerminatedPods.Failed) == 0 {
		st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	if !indexed {
		// succeeded/failed stay the counters of pods whose finalizers are gone.
		st.CompletedIndexes = job.Status.CompletedIndexes
	}

	// Wake up at the deadline.
	if !finishing && !suspended && job.Spec.ActiveDeadlineSeconds != nil && st.StartTime != nil {
		at := st.StartTime.Add(time.Duration(*job.Spec.ActiveDeadlineSeconds) * time.Second)
		if d := at.Sub(in.Now); d > 0 && (plan.RequeueAfter == 0 || d < plan.RequeueAfter) {
			plan.RequeueAfter = d
		}
	}
	plan.Status = st
	return plan
}

func sortedUIDs(s sets.Set[types.UID]) []types.UID {
	out := s.UnsortedList()
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	if len(out) == 0 {
		return nil
	}
	return out
}

func pastDeadline(job *batchv1.Job, start *metav1.Time, now time.Time) bool {
	if job.Spec.ActiveDeadlineSeconds == nil || start == nil {
		return false
	}
	return !now.Before(start.Add(time.Duration(*job.Spec.ActiveDeadlineSeconds) * time.Second))
}

// pastBackoffLimitOnFailure counts the restarts of active pods of an OnFailure Job.
func pastBackoffLimitOnFailure(job *batchv1.Job, active []*corev1.Pod) bool {
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		return false
	}
	var restarts int32
	for _, p := range active {
		if p.Status.Phase != corev1.PodRunning && p.Status.Phase != corev1.PodPending {
			continue
		}
		for _, s := range p.Status.InitContainerStatuses {
			restarts += s.RestartCount
		}
		for _, s := range p.Status.ContainerStatuses {
			restarts += s.RestartCount
		}
	}
	limit := int32Or(job.Spec.BackoffLimit, 6)
	if limit == 0 {
		return restarts > 0
	}
	return restarts >= limit
}

// successReached returns the reason and message of SuccessCriteriaMet when the Job succeeded.
func successReached(job *batchv1.Job, indexed bool, completed indexSet, succeeded, active int, failedIdx indexSet) (string, string) {
	if sp := job.Spec.SuccessPolicy; sp != nil && indexed {
		for i, r := range sp.Rules {
			n := len(completed)
			if r.SucceededIndexes != nil {
				want := parseIndexes(*r.SucceededIndexes, int(int32Or(job.Spec.Completions, 0)))
				n = 0
				all := true
				for ix := range want {
					if completed[ix] {
						n++
					} else {
						all = false
					}
				}
				if r.SucceededCount == nil && !all {
					continue
				}
			}
			if r.SucceededCount != nil && n < int(*r.SucceededCount) {
				continue
			}
			return ReasonSuccessPolicy, fmt.Sprintf("Matched rules at index %d", i)
		}
	}
	msg := "Reached expected number of succeeded pods"
	switch {
	case indexed:
		if len(failedIdx) == 0 && len(completed) >= int(int32Or(job.Spec.Completions, 0)) {
			return ReasonCompletionsReached, msg
		}
	case job.Spec.Completions != nil:
		if succeeded >= int(*job.Spec.Completions) {
			return ReasonCompletionsReached, msg
		}
	default:
		if succeeded > 0 && active == 0 {
			return ReasonCompletionsReached, msg
		}
	}
	return "", ""
}

// manageIndexed creates pods for the lowest indexes without one and deletes duplicates,
// pods of finished indexes and pods beyond parallelism.
func manageIndexed(plan *Plan, job *batchv1.Job, in Input, active, terminating []*corev1.Pod, completed, failedIdx indexSet,
	lastFailed map[int]*corev1.Pod, parallelism, completions int, base, maxDelay time.Duration) {
	byIndex := map[int][]*corev1.Pod{}
	for _, p := range active {
		ix := completionIndex(p)
		if ix < 0 || ix >= completions || completed[ix] || failedIdx[ix] {
			plan.Delete = append(plan.Delete, p)
			continue
		}
		byIndex[ix] = append(byIndex[ix], p)
	}
	kept := 0
	for _, ix := range sortedKeys(byIndex) {
		pods := byIndex[ix]
		sort.Slice(pods, func(i, j int) bool { return isReady(pods[i]) && !isReady(pods[j]) })
		plan.Delete = append(plan.Delete, pods[1:]...)
		byIndex[ix] = pods[:1]
		kept++
	}
	if kept > parallelism {
		keys := sortedKeys(byIndex)
		for _, ix := range keys[parallelism:] {
			plan.Delete = append(plan.Delete, byIndex[ix]...)
			delete(byIndex, ix)
		}
		kept = parallelism
	}
	busy := map[int]bool{}
	for ix := range byIndex {
		busy[ix] = true
	}
	if onlyReplaceFailed(job) {
		for _, p := range terminating {
			if ix := completionIndex(p); ix >= 0 {
				busy[ix] = true
				kept++
			}
		}
	}
	for ix := 0; ix < completions && kept < parallelism; ix++ {
		if busy[ix] || completed[ix] || failedIdx[ix] {
			continue
		}
		var counts PodToCreate
		counts.Index = ix
		if p, ok := lastFailed[ix]; ok {
			counts.FailureCount = annotationInt(p, IndexFailureCountAnnotation) + 1
			counts.IgnoredFailureCount = annotationInt(p, IndexIgnoredFailureCountAnnotation)
			var forIndex []*corev1.Pod
			for _, q := range in.Pods {
				if completionIndex(q) == ix && q.Status.Phase == corev1.PodFailed {
					forIndex = append(forIndex, q)
				}
			}
			if wait := backoffRemaining(forIndex, in.Now, base, maxDelay); wait > 0 {
				if plan.RequeueAfter == 0 || wait < plan.RequeueAfter {
					plan.RequeueAfter = wait
				}
				continue
			}
		}
		plan.Create = append(plan.Create, counts)
		kept++
	}
}

func sortedKeys(m map[int][]*corev1.Pod) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// pickToDelete prefers unscheduled, then pending, then not ready, then the newest pods.
func pickToDelete(pods []*corev1.Pod, n int) []*corev1.Pod {
	s := append([]*corev1.Pod(nil), pods...)
	rank := func(p *corev1.Pod) int {
		switch {
		case p.Spec.NodeName == "":
			return 0
		case p.Status.Phase == corev1.PodPending:
			return 1
		case !isReady(p):
			return 2
		}
		return 3
	}
	sort.SliceStable(s, func(i, j int) bool {
		if ri, rj := rank(s[i]), rank(s[j]); ri != rj {
			return ri < rj
		}
		return s[j].CreationTimestamp.Before(&s[i].CreationTimestamp)
	})
	return s[:min(n, len(s))]
}
