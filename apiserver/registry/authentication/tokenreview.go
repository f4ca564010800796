package authentication

import (
	"context"
	"fmt"
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
)

// TokenReviews configures authentication.k8s.io/v1 tokenreviews.
type TokenReviews struct {
	// Authenticator is the API server's own request authenticator; without it every review
	// answers unauthenticated.
	Authenticator authenticator.Request
	// APIAudiences are the audiences of reviews that name none.
	APIAudiences []string
}

// tokenReviewREST answers TokenReview after upstream's: the token is authenticated as if it came
// with a request, for the review's audiences (the API's by default).
type tokenReviewREST struct{ cfg TokenReviews }

var (
	_ rest.Creater              = &tokenReviewREST{}
	_ rest.Scoper               = &tokenReviewREST{}
	_ rest.SingularNameProvider = &tokenReviewREST{}
)

func (r *tokenReviewREST) New() runtime.Object     { return &authenticationv1.TokenReview{} }
func (r *tokenReviewREST) Destroy()                {}
func (r *tokenReviewREST) NamespaceScoped() bool   { return false }
func (r *tokenReviewREST) GetSingularName() string { return "tokenreview" }

func (r *tokenReviewREST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	review, ok := obj.(*authenticationv1.TokenReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a TokenReview: %#v", obj))
	}
	if ns := genericapirequest.NamespaceValue(ctx); ns != "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("namespace is not allowed on this type: %v", ns))
	}
	if review.Spec.Token == "" {
		return nil, apierrors.NewBadRequest("token is required for TokenReview in authentication")
	}
	if createValidation != nil {
		if err := createValidation(ctx, obj.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	if r.cfg.Authenticator == nil {
		return review, nil
	}
	req := (&http.Request{Header: http.Header{}}).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+review.Spec.Token)
	auds := review.Spec.Audiences
	if len(auds) == 0 {
		auds = r.cfg.APIAudiences
	}
	if len(auds) > 0 {
		req = req.WithContext(authenticator.WithAudiences(req.Context(), auds))
	}
	resp, ok, err := r.cfg.Authenticator.AuthenticateRequest(req)
	review.Status = authenticationv1.TokenReviewStatus{Authenticated: ok}
	if err != nil {
		review.Status.Error = err.Error()
	}
	if resp != nil && ok {
		if len(auds) > 0 && len(authenticator.Audiences(auds).Intersect(resp.Audiences)) == 0 && len(resp.Audiences) > 0 {
			return nil, apierrors.NewInternalError(fmt.Errorf("error validating audience"))
		}
		if u := resp.User; u != nil {
			extra := map[string]authenticationv1.ExtraValue{}
			for k, v := range u.GetExtra() {
				extra[k] = v
			}
			review.Status.User = authenticationv1.UserInfo{Username: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: extra}
		}
		review.Status.Audiences = resp.Audiences
	}
	return review, nil
}
