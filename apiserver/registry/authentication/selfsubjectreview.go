package authentication

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
)

// selfSubjectReviewREST answers authentication.k8s.io/v1 SelfSubjectReview (kubectl auth whoami)
// with the requester's own user info.
type selfSubjectReviewREST struct{}

var (
	_ rest.Creater              = &selfSubjectReviewREST{}
	_ rest.Scoper               = &selfSubjectReviewREST{}
	_ rest.SingularNameProvider = &selfSubjectReviewREST{}
)

func (r *selfSubjectReviewREST) New() runtime.Object     { return &authenticationv1.SelfSubjectReview{} }
func (r *selfSubjectReviewREST) Destroy()                {}
func (r *selfSubjectReviewREST) NamespaceScoped() bool   { return false }
func (r *selfSubjectReviewREST) GetSingularName() string { return "selfsubjectreview" }

func (r *selfSubjectReviewREST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	if _, ok := obj.(*authenticationv1.SelfSubjectReview); !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SelfSubjectReview: %#v", obj))
	}
	user, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewBadRequest("no user present on request")
	}
	extra := map[string]authenticationv1.ExtraValue{}
	for k, v := range user.GetExtra() {
		extra[k] = v
	}
	return &authenticationv1.SelfSubjectReview{
		ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.Now()},
		Status: authenticationv1.SelfSubjectReviewStatus{UserInfo: authenticationv1.UserInfo{
			Username: user.GetName(), UID: user.GetUID(), Groups: user.GetGroups(), Extra: extra,
		}},
	}, nil
}
