// Package webhook holds the Website's admission webhooks, served by controller-runtime's
// webhook server: a defaulter (mutating) that labels every Website with its tier, and a
// validator that refuses pages with scripts with a 422 naming the field, as an operator's
// webhooks do. Registering them on a manager also serves the conversion webhook between
// v1alpha1 (the hub) and v1beta1 at /convert.
package webhook

import (
	"context"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	webv1alpha1 "github.com/skiff-dev/skiff/test/operator/api/v1alpha1"
)

// TierLabel is the label the defaulter sets when a Website has none.
const TierLabel = "web.example.com/tier"

// Paths are where controller-runtime's builder serves the Website's webhooks
// (/mutate-<group with dashes>-<version>-<kind>, /validate-..., /convert).
const (
	MutatePath   = "/mutate-web-example-com-v1alpha1-website"
	ValidatePath = "/validate-web-example-com-v1alpha1-website"
	ConvertPath  = "/convert"
)

// Setup registers the Website's defaulter, validator and conversion webhook on mgr.
func Setup(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &webv1alpha1.Website{}).
		WithDefaulter(Defaulter{}).
		WithValidator(Validator{}).
		Complete()
}

// Defaulter sets the tier label to "frontend" on Websites without one.
type Defaulter struct{}

// Default implements admission.Defaulter.
func (Defaulter) Default(_ context.Context, w *webv1alpha1.Website) error {
	if w.Labels[TierLabel] == "" {
		if w.Labels == nil {
			w.Labels = map[string]string{}
		}
		w.Labels[TierLabel] = "frontend"
	}
	return nil
}

// Validator refuses a page with a <script> element.
type Validator struct{}

var _ admission.Validator[*webv1alpha1.Website] = Validator{}

// ValidateCreate implements admission.Validator.
func (Validator) ValidateCreate(_ context.Context, w *webv1alpha1.Website) (admission.Warnings, error) {
	return nil, validate(w)
}

// ValidateUpdate implements admission.Validator.
func (Validator) ValidateUpdate(_ context.Context, _, w *webv1alpha1.Website) (admission.Warnings, error) {
	return nil, validate(w)
}

// ValidateDelete implements admission.Validator.
func (Validator) ValidateDelete(context.Context, *webv1alpha1.Website) (admission.Warnings, error) {
	return nil, nil
}

func validate(w *webv1alpha1.Website) error {
	if !strings.Contains(strings.ToLower(w.Spec.Content), "<script") {
		return nil
	}
	errs := field.ErrorList{field.Forbidden(field.NewPath("spec", "content"), "scripts are not allowed in a website's page")}
	return apierrors.NewInvalid(webv1alpha1.GroupVersion.WithKind("Website").GroupKind(), w.Name, errs)
}
