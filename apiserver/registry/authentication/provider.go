package authentication

import (
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// Provider builds authentication.k8s.io/v1: selfsubjectreviews (kubectl auth whoami) and
// tokenreviews.
type Provider struct {
	TokenReviews TokenReviews
}

func (Provider) GroupName() string { return authenticationv1.GroupName }

func (p Provider) NewRESTStorage(*registry.Context) (map[string]map[string]rest.Storage, error) {
	return map[string]map[string]rest.Storage{authenticationv1.SchemeGroupVersion.Version: {
		"selfsubjectreviews": &selfSubjectReviewREST{},
		"tokenreviews":       &tokenReviewREST{cfg: p.TokenReviews},
	}}, nil
}
