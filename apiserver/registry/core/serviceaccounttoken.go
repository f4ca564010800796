package core

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/warning"

	"github.com/skiff-dev/skiff/apiserver/registry"
	"github.com/skiff-dev/skiff/apiserver/serviceaccount"
)

// ServiceAccountTokens are the settings of serviceaccounts/token (TokenRequest).
type ServiceAccountTokens struct {
	// Signer issues the tokens; without it the subresource answers 503.
	Signer *serviceaccount.Signer
	// APIAudiences are the audiences of tokens that ask for none (the issuer, by default).
	APIAudiences []string
	// MaxExpiration shortens longer requests (upstream's --service-account-max-token-expiration);
	// 0 means no limit.
	MaxExpiration time.Duration
	// ExtendExpiration gives pod-bound tokens asked for 3607 s a year of validity with a
	// warnafter claim (--service-account-extend-token-expiration, true by default upstream).
	ExtendExpiration bool
}

var tokenRequestGVK = authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")

// tokenREST serves serviceaccounts/token after upstream's TokenREST: it signs a token for the
// ServiceAccount, optionally bound to a Pod, Secret or Node of its namespace.
type tokenREST struct {
	cfg                       ServiceAccountTokens
	sas, pods, secrets, nodes *genericregistry.Store
}

var (
	_ rest.NamedCreater             = &tokenREST{}
	_ rest.GroupVersionKindProvider = &tokenREST{}
)

func (r *tokenREST) New() runtime.Object { return &authenticationv1.TokenRequest{} }
func (r *tokenREST) Destroy()            {}

func (r *tokenREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return tokenRequestGVK
}

// validateTokenRequest is upstream's ValidateTokenRequest.
func validateTokenRequest(tr *authenticationv1.TokenRequest) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "expirationSeconds")
	var secs int64
	if tr.Spec.ExpirationSeconds != nil {
		secs = *tr.Spec.ExpirationSeconds
	}
	if secs < serviceaccount.MinExpirationSeconds {
		errs = append(errs, field.Invalid(p, secs, "may not specify a duration less than 10 minutes"))
	}
	if secs > 1<<32 {
		errs = append(errs, field.Invalid(p, secs, "may not specify a duration larger than 2^32 seconds"))
	}
	return errs
}

func (r *tokenREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	req, ok := obj.(*authenticationv1.TokenRequest)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a TokenRequest: %T", obj))
	}
	if r.cfg.Signer == nil {
		return nil, apierrors.NewServiceUnavailable("service account token issuance is not configured")
	}
	namespace, _ := genericapirequest.NamespaceFrom(ctx)
	gk := tokenRequestGVK.GroupKind()
	if req.Name != "" && req.Name != name {
		return nil, apierrors.NewInvalid(gk, name, field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), req.Name, "must match the service account name if specified")})
	}
	if req.Namespace != "" && req.Namespace != namespace {
		return nil, apierrors.NewInvalid(gk, name, field.ErrorList{field.Invalid(field.NewPath("metadata", "namespace"), req.Namespace, "must match the service account namespace if specified")})
	}
	saObj, err := r.sas.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	sa := saObj.(*corev1.ServiceAccount)
	if len(req.Spec.Audiences) == 0 {
		req.Spec.Audiences = append([]string(nil), r.cfg.APIAudiences...)
	}
	if req.Spec.ExpirationSeconds == nil {
		d := int64(serviceaccount.DefaultExpirationSeconds)
		req.Spec.ExpirationSeconds = &d
	}
	if req.Name == "" {
		req.Name = sa.Name
	}
	if req.Namespace == "" {
		req.Namespace = sa.Namespace
	}
	now := time.Now()
	req.CreationTimestamp = metav1.NewTime(now)
	req.Status = authenticationv1.TokenRequestStatus{}
	if errs := validateTokenRequest(req); len(errs) > 0 {
		return nil, apierrors.NewInvalid(gk, "", errs)
	}
	if createValidation != nil {
		if err := createValidation(ctx, req.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	b := serviceaccount.Binding{ServiceAccount: sa}
	if ref := req.Spec.BoundObjectRef; ref != nil {
		if err := r.bind(ctx, name, ref, &b); err != nil {
			return nil, err
		}
	}
	secs := *req.Spec.ExpirationSeconds
	if maxSecs := int64(r.cfg.MaxExpiration / time.Second); maxSecs > 0 && secs > maxSecs {
		warning.AddWarning(ctx, "", fmt.Sprintf("requested expiration of %d seconds shortened to %d seconds", secs, maxSecs))
		secs = maxSecs
		req.Spec.ExpirationSeconds = &secs
	}
	validity := time.Duration(secs) * time.Second
	var warnAfter time.Time
	if r.cfg.ExtendExpiration && b.Pod != nil && secs == serviceaccount.WarnOnlyBoundTokenExpirationSeconds && r.apiAudiences(req.Spec.Audiences) {
		warnAfter = now.Add(validity)
		validity = serviceaccount.ExtendedExpiration
	}
	tok, _, err := r.cfg.Signer.Issue(b, req.Spec.Audiences, validity, warnAfter)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	out := req.DeepCopy()
	out.Status = authenticationv1.TokenRequestStatus{
		Token:               tok,
		ExpirationTimestamp: metav1.NewTime(now.Add(time.Duration(secs) * time.Second)),
	}
	return out, nil
}

// bind resolves the bound object reference into b, as upstream: a Pod must run as the
// ServiceAccount, and a UID given in the reference must match the object's.
func (r *tokenREST) bind(ctx context.Context, saName string, ref *authenticationv1.BoundObjectReference, b *serviceaccount.Binding) error {
	gvk := schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)
	var uid types.UID
	switch {
	case gvk.Group == "" && gvk.Kind == "Pod":
		obj, err := r.pods.Get(ctx, ref.Name, &metav1.GetOptions{})
		if err != nil {
			return err
		}
		pod := obj.(*corev1.Pod)
		if saName != pod.Spec.ServiceAccountName {
			return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name.", saName))
		}
		uid, b.Pod = pod.UID, pod
		if pod.Spec.NodeName != "" {
			// The node may be gone: the token is issued without it then.
			if n, err := r.nodes.Get(ctx, pod.Spec.NodeName, &metav1.GetOptions{ResourceVersion: "0"}); err == nil {
				b.Node = n.(*corev1.Node)
			}
		}
	case gvk.Group == "" && gvk.Kind == "Secret":
		obj, err := r.secrets.Get(ctx, ref.Name, &metav1.GetOptions{})
		if err != nil {
			return err
		}
		b.Secret = obj.(*corev1.Secret)
		uid = b.Secret.UID
	case gvk.Group == "" && gvk.Kind == "Node":
		obj, err := r.nodes.Get(ctx, ref.Name, &metav1.GetOptions{})
		if err != nil {
			return err
		}
		b.Node = obj.(*corev1.Node)
		uid = b.Node.UID
	default:
		return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s", gvk.String()))
	}
	if ref.UID != "" && uid != ref.UID {
		return apierrors.NewConflict(schema.GroupResource{Group: gvk.Group, Resource: gvk.Kind}, ref.Name,
			fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	return nil
}

func (r *tokenREST) apiAudiences(auds []string) bool {
	if len(auds) != len(r.cfg.APIAudiences) {
		return false
	}
	for i := range auds {
		if auds[i] != r.cfg.APIAudiences[i] {
			return false
		}
	}
	return true
}

func newTokenREST(cfg ServiceAccountTokens, stores map[schema.GroupResource]*registry.Storage) *tokenREST {
	store := func(resource string) *genericregistry.Store {
		return stores[schema.GroupResource{Resource: resource}].Store
	}
	return &tokenREST{cfg: cfg, sas: store("serviceaccounts"), pods: store("pods"), secrets: store("secrets"), nodes: store("nodes")}
}
