package certificates

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// CSRKind is certificates.k8s.io/v1 certificatesigningrequests, cluster-scoped, with the status
// and approval subresources; its strategy (below) follows upstream's pkg/registry/certificates.
var CSRKind = &registry.Kind{GroupVersion: certificatesv1.SchemeGroupVersion, Resource: "certificatesigningrequests",
	Singular: "certificatesigningrequest", ShortNames: []string{"csr"}, Status: true,
	New:     func() runtime.Object { return &certificatesv1.CertificateSigningRequest{} },
	NewList: func() runtime.Object { return &certificatesv1.CertificateSigningRequestList{} },
	Fields: func(obj runtime.Object) fields.Set {
		return fields.Set{"spec.signerName": obj.(*certificatesv1.CertificateSigningRequest).Spec.SignerName}
	}}

type csrMode int

const (
	csrMain csrMode = iota
	csrStatus
	csrApproval
)

// csrStrategy adds to the generic strategy what upstream's CSR strategies do: the requesting
// user recorded in the spec on create, an immutable spec, approval conditions changed only
// through /approval and the certificate only through /status, and CSR validation.
type csrStrategy struct {
	*registry.Strategy
	mode csrMode
}

// Provider builds certificates.k8s.io/v1: certificatesigningrequests with status and approval.
type Provider struct{}

func (Provider) GroupName() string { return certificatesv1.GroupName }

func (Provider) NewRESTStorage(c *registry.Context) (map[string]map[string]rest.Storage, error) {
	st, err := c.NewStorage(CSRKind)
	if err != nil {
		return nil, err
	}
	wireCSR(c.Scheme, st)
	return map[string]map[string]rest.Storage{certificatesv1.SchemeGroupVersion.Version: st.Paths(CSRKind)}, nil
}

// wireCSR replaces the strategies of the CSR storage and adds the approval subresource.
func wireCSR(typer runtime.ObjectTyper, st *registry.Storage) {
	main := &csrStrategy{Strategy: registry.NewStrategy(typer, CSRKind, false), mode: csrMain}
	st.Store.CreateStrategy, st.Store.UpdateStrategy, st.Store.ResetFieldsStrategy = main, main, main
	status := st.Subresources["status"].(*registry.StatusREST).Store
	statusStrategy := &csrStrategy{Strategy: registry.NewStrategy(typer, CSRKind, true), mode: csrStatus}
	status.UpdateStrategy, status.ResetFieldsStrategy = statusStrategy, statusStrategy
	approval := *status
	approvalStrategy := &csrStrategy{Strategy: registry.NewStrategy(typer, CSRKind, true), mode: csrApproval}
	approval.UpdateStrategy, approval.ResetFieldsStrategy = approvalStrategy, approvalStrategy
	st.Subresources["approval"] = &registry.StatusREST{Store: &approval}
}

func (s *csrStrategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	csr := obj.(*certificatesv1.CertificateSigningRequest)
	csr.Spec.Username, csr.Spec.UID, csr.Spec.Groups, csr.Spec.Extra = "", "", nil, nil
	if u, ok := genericapirequest.UserFrom(ctx); ok {
		csr.Spec.Username = u.GetName()
		csr.Spec.UID = u.GetUID()
		csr.Spec.Groups = append([]string(nil), u.GetGroups()...)
		if extra := u.GetExtra(); len(extra) > 0 {
			csr.Spec.Extra = map[string]certificatesv1.ExtraValue{}
			for k, v := range extra {
				csr.Spec.Extra[k] = append(certificatesv1.ExtraValue(nil), v...)
			}
		}
	}
	// Users cannot create pre-approved requests.
	csr.Status = certificatesv1.CertificateSigningRequestStatus{}
}

func (s *csrStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	n, o := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	n.Spec = o.Spec
	switch s.mode {
	case csrMain:
		n.Status = o.Status
	case csrStatus:
		// Approved and Denied conditions change only through /approval.
		var conds []certificatesv1.CertificateSigningRequestCondition
		for _, c := range n.Status.Conditions {
			if !isApprovalCondition(c.Type) {
				conds = append(conds, c)
			}
		}
		for _, c := range o.Status.Conditions {
			if isApprovalCondition(c.Type) {
				conds = append(conds, c)
			}
		}
		n.Status.Conditions = conds
		populateConditionTimestamps(n, o)
	case csrApproval:
		conds := n.Status.Conditions
		n.Status = o.Status
		n.Status.Conditions = conds
		populateConditionTimestamps(n, o)
	}
	n.Generation = o.Generation
}

func isApprovalCondition(t certificatesv1.RequestConditionType) bool {
	return t == certificatesv1.CertificateApproved || t == certificatesv1.CertificateDenied
}

// populateConditionTimestamps sets lastUpdateTime and lastTransitionTime when unset, as upstream.
func populateConditionTimestamps(n, o *certificatesv1.CertificateSigningRequest) {
	now := metav1.Now()
	for i := range n.Status.Conditions {
		c := &n.Status.Conditions[i]
		if c.LastUpdateTime.IsZero() {
			c.LastUpdateTime = now
		}
		if !c.LastTransitionTime.IsZero() {
			continue
		}
		c.LastTransitionTime = now
		for _, oc := range o.Status.Conditions {
			if oc.Type == c.Type && oc.Status == c.Status && !oc.LastTransitionTime.IsZero() {
				c.LastTransitionTime = oc.LastTransitionTime
			}
		}
	}
}

func (s *csrStrategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	return validateCSR(obj.(*certificatesv1.CertificateSigningRequest))
}

func (s *csrStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	n, o := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(&n.ObjectMeta, &o.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateCSRStatus(n, o)...)
	return errs
}

func (s *csrStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	set := fieldpath.NewSet(fieldpath.MakePathOrDie("status"))
	switch s.mode {
	case csrStatus:
		set = fieldpath.NewSet(fieldpath.MakePathOrDie("spec"))
	case csrApproval:
		set = fieldpath.NewSet(fieldpath.MakePathOrDie("spec"), fieldpath.MakePathOrDie("status", "certificate"))
	}
	return map[fieldpath.APIVersion]*fieldpath.Set{"certificates.k8s.io/v1": set}
}

var knownUsages = map[certificatesv1.KeyUsage]bool{}

func init() {
	for _, u := range []certificatesv1.KeyUsage{
		certificatesv1.UsageSigning, certificatesv1.UsageDigitalSignature, certificatesv1.UsageContentCommitment,
		certificatesv1.UsageKeyEncipherment, certificatesv1.UsageKeyAgreement, certificatesv1.UsageDataEncipherment,
		certificatesv1.UsageCertSign, certificatesv1.UsageCRLSign, certificatesv1.UsageEncipherOnly,
		certificatesv1.UsageDecipherOnly, certificatesv1.UsageAny, certificatesv1.UsageServerAuth,
		certificatesv1.UsageClientAuth, certificatesv1.UsageCodeSigning, certificatesv1.UsageEmailProtection,
		certificatesv1.UsageSMIME, certificatesv1.UsageIPsecEndSystem, certificatesv1.UsageIPsecTunnel,
		certificatesv1.UsageIPsecUser, certificatesv1.UsageTimestamping, certificatesv1.UsageOCSPSigning,
		certificatesv1.UsageMicrosoftSGC, certificatesv1.UsageNetscapeSGC,
	} {
		knownUsages[u] = true
	}
}

// validateCSR is the essentials of upstream's ValidateCertificateSigningRequestCreate: a name,
// a PEM certificate request with a valid signature, a qualified signerName, known and distinct
// usages, and expirationSeconds of at least 10 minutes.
func validateCSR(csr *certificatesv1.CertificateSigningRequest) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(&csr.ObjectMeta, false, path.ValidatePathSegmentName, field.NewPath("metadata"))
	spec := field.NewPath("spec")
	if _, err := ParseCSR(csr.Spec.Request); err != nil {
		errs = append(errs, field.Invalid(spec.Child("request"), csr.Spec.Request, err.Error()))
	}
	errs = append(errs, validateSignerName(spec.Child("signerName"), csr.Spec.SignerName)...)
	if len(csr.Spec.Usages) == 0 {
		errs = append(errs, field.Required(spec.Child("usages"), ""))
	}
	seen := map[certificatesv1.KeyUsage]bool{}
	for i, u := range csr.Spec.Usages {
		p := spec.Child("usages").Index(i)
		switch {
		case !knownUsages[u]:
			errs = append(errs, field.NotSupported[string](p, u, nil))
		case seen[u]:
			errs = append(errs, field.Duplicate(p, u))
		}
		seen[u] = true
	}
	if e := csr.Spec.ExpirationSeconds; e != nil && *e < 600 {
		errs = append(errs, field.Invalid(spec.Child("expirationSeconds"), *e, "may not specify a duration less than 600 seconds (10 minutes)"))
	}
	return errs
}

// ParseCSR decodes a PEM "CERTIFICATE REQUEST" block and checks its signature.
func ParseCSR(pemBytes []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("PEM block type must be CERTIFICATE REQUEST")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, err
	}
	if err := req.CheckSignature(); err != nil {
		return nil, err
	}
	return req, nil
}

// validateSignerName checks the "<DNS subdomain>/<path>" form upstream requires.
func validateSignerName(p *field.Path, name string) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	domain, rest, ok := strings.Cut(name, "/")
	if !ok || rest == "" {
		return field.ErrorList{field.Invalid(p, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	var errs field.ErrorList
	for _, msg := range utilvalidation.IsDNS1123Subdomain(domain) {
		errs = append(errs, field.Invalid(p, name, "the domain part: "+msg))
	}
	if len(name) > 571 {
		errs = append(errs, field.TooLong(p, "", 571))
	}
	return errs
}

// validateCSRStatus checks conditions and the certificate as upstream's update validation does.
func validateCSRStatus(n, o *certificatesv1.CertificateSigningRequest) field.ErrorList {
	var errs field.ErrorList
	conds := field.NewPath("status", "conditions")
	seen := map[certificatesv1.RequestConditionType]bool{}
	for i, c := range n.Status.Conditions {
		p := conds.Index(i)
		if c.Type == "" {
			errs = append(errs, field.Required(p.Child("type"), ""))
		}
		switch c.Type {
		case certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed:
			if seen[c.Type] {
				errs = append(errs, field.Duplicate(p.Child("type"), c.Type))
			}
			if c.Status != corev1.ConditionTrue {
				errs = append(errs, field.NotSupported(p.Child("status"), c.Status, []string{string(corev1.ConditionTrue)}))
			}
		}
		if c.Status == "" {
			errs = append(errs, field.Required(p.Child("status"), ""))
		}
		seen[c.Type] = true
	}
	if seen[certificatesv1.CertificateApproved] && seen[certificatesv1.CertificateDenied] {
		errs = append(errs, field.Invalid(conds, n.Status.Conditions, "Approved and Denied conditions are mutually exclusive"))
	}
	for _, oc := range o.Status.Conditions {
		if (isApprovalCondition(oc.Type) || oc.Type == certificatesv1.CertificateFailed) && !seen[oc.Type] {
			errs = append(errs, field.Forbidden(conds, fmt.Sprintf("updates may not remove a condition of type %q", oc.Type)))
		}
	}
	certPath := field.NewPath("status", "certificate")
	if len(n.Status.Certificate) > 0 {
		if !bytes.Equal(n.Status.Certificate, o.Status.Certificate) && len(o.Status.Certificate) > 0 {
			errs = append(errs, field.Forbidden(certPath, "updates may not modify existing certificate content"))
		}
		if !seen[certificatesv1.CertificateApproved] {
			errs = append(errs, field.Invalid(certPath, "<certificate data>", "certificate can only be set once the request is approved"))
		}
		if seen[certificatesv1.CertificateDenied] || seen[certificatesv1.CertificateFailed] {
			errs = append(errs, field.Invalid(certPath, "<certificate data>", "certificate cannot be set on a denied or failed request"))
		}
		if err := validateCertificatePEM(n.Status.Certificate); err != nil {
			errs = append(errs, field.Invalid(certPath, "<certificate data>", err.Error()))
		}
	}
	return errs
}

func validateCertificatePEM(data []byte) error {
	n := 0
	for len(bytes.TrimSpace(data)) > 0 {
		block, rest := pem.Decode(data)
		if block == nil {
			return fmt.Errorf("data after the last PEM block is not a PEM block")
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("only CERTIFICATE PEM blocks are allowed, found %q", block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return err
		}
		n++
		data = rest
	}
	if n == 0 {
		return fmt.Errorf("must contain at least one CERTIFICATE PEM block")
	}
	return nil
}
