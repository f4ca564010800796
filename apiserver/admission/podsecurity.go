package admission

import (
	"context"
	"errors"
	"fmt"
	"sync"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/audit"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/component-base/metrics/legacyregistry"
	psadmission "k8s.io/pod-security-admission/admission"
	psconfig "k8s.io/pod-security-admission/admission/api/load"
	psapi "k8s.io/pod-security-admission/api"
	psmetrics "k8s.io/pod-security-admission/metrics"
	"k8s.io/pod-security-admission/policy"
)

// PodSecurity is kube-apiserver's PodSecurity plugin on k8s.io/pod-security-admission: the
// namespace labels pod-security.kubernetes.io/{enforce,audit,warn}[-version] choose the level
// (privileged, baseline, restricted) pods are held to. enforce refuses a violating pod, warn
// returns Warning headers, audit adds audit annotations; workload resources with a pod template
// get warnings and audit annotations only; labelling a namespace warns about its existing
// violating pods. The configuration is upstream's default (privileged everywhere unless
// labelled, version latest, no exemptions).
type PodSecurity struct {
	*admission.Handler
	delegate *psadmission.Admission
}

var _ admission.ValidationInterface = &PodSecurity{}

var (
	podSecurityRecorder     *psmetrics.PrometheusRecorder
	podSecurityRecorderOnce sync.Once
)

// NewPodSecurity reads namespaces and pods through factory's informers (namespaces missing from
// the cache through client), as upstream's plugin does.
func NewPodSecurity(factory informers.SharedInformerFactory, client kubernetes.Interface) (*PodSecurity, error) {
	config, err := psconfig.LoadFromData(nil)
	if err != nil {
		return nil, fmt.Errorf("PodSecurity configuration: %w", err)
	}
	podSecurityRecorderOnce.Do(func() {
		podSecurityRecorder = psmetrics.NewPrometheusRecorder(psapi.GetAPIVersion())
		podSecurityRecorder.MustRegister(legacyregistry.MustRegister)
	})
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return nil, fmt.Errorf("PodSecurity evaluator: %w", err)
	}
	nsInformer := factory.Core().V1().Namespaces()
	podInformer := factory.Core().V1().Pods()
	p := &PodSecurity{
		Handler: admission.NewHandler(admission.Create, admission.Update),
		delegate: &psadmission.Admission{
			Configuration:    config,
			Evaluator:        evaluator,
			Metrics:          podSecurityRecorder,
			PodSpecExtractor: psadmission.DefaultPodSpecExtractor{},
			PodLister:        psadmission.PodListerFromInformer(podInformer.Lister()),
			NamespaceGetter:  psadmission.NamespaceGetterFromListerAndClient(nsInformer.Lister(), client),
		},
	}
	p.SetReadyFunc(nsInformer.Informer().HasSynced)
	if err := p.delegate.CompleteConfiguration(); err != nil {
		return nil, fmt.Errorf("PodSecurity configuration error: %w", err)
	}
	if err := p.delegate.ValidateConfiguration(); err != nil {
		return nil, fmt.Errorf("PodSecurity invalid: %w", err)
	}
	return p, nil
}

var podSecurityResources = map[schema.GroupResource]bool{
	corev1.Resource("pods"):       true,
	corev1.Resource("namespaces"): true,
}

// Validate evaluates pods, namespaces and pod templates against the namespace's policy.
func (p *PodSecurity) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	gr := a.GetResource().GroupResource()
	if !podSecurityResources[gr] && !p.delegate.PodSpecExtractor.HasPodSpec(gr) {
		return nil
	}
	result := p.delegate.Validate(ctx, podSecurityAttributes{a})
	for _, w := range result.Warnings {
		warning.AddWarning(ctx, "", w)
	}
	if len(result.AuditAnnotations) > 0 {
		annotations := make([]string, 0, len(result.AuditAnnotations)*2)
		for k, v := range result.AuditAnnotations {
			annotations = append(annotations, psapi.AuditAnnotationPrefix+k, v)
		}
		audit.AddAuditAnnotations(ctx, annotations...)
	}
	if result.Allowed {
		return nil
	}
	err := admission.NewForbidden(a, errors.New("Not allowed by PodSecurity")).(*apierrors.StatusError)
	if r := result.Result; r != nil {
		if r.Message != "" {
			err.ErrStatus.Message = r.Message
		}
		if r.Reason != "" {
			err.ErrStatus.Reason = r.Reason
		}
		if r.Details != nil {
			err.ErrStatus.Details = r.Details
		}
		if r.Code != 0 {
			err.ErrStatus.Code = r.Code
		}
	}
	return err
}

// podSecurityAttributes adapts admission.Attributes to the library's api.Attributes. Skiff's
// objects are already k8s.io/api types, so no conversion is needed (upstream converts from its
// internal types).
type podSecurityAttributes struct{ admission.Attributes }

func (a podSecurityAttributes) GetObject() (runtime.Object, error) {
	return a.Attributes.GetObject(), nil
}

func (a podSecurityAttributes) GetOldObject() (runtime.Object, error) {
	return a.Attributes.GetOldObject(), nil
}

func (a podSecurityAttributes) GetOperation() admissionv1.Operation {
	return admissionv1.Operation(a.Attributes.GetOperation())
}

func (a podSecurityAttributes) GetUserName() string {
	return a.GetUserInfo().GetName()
}
