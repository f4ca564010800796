package admissionregistration

import (
	"context"
	"fmt"
	"strings"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

// validateCEL compiles every CEL expression of a configuration or policy, as upstream's
// validation does, and reports a compilation error at the expression's field path (422).
// Expressions already stored in old compile against the stored-expressions environment, so
// that an object accepted by an earlier version stays editable.
func validateCEL(_ context.Context, obj, old runtime.Object) field.ErrorList {
	stored := storedExpressions(old)
	c := &celChecker{stored: stored}
	switch o := obj.(type) {
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		for i, h := range o.Webhooks {
			c.matchConditions(h.MatchConditions, false, field.NewPath("webhooks").Index(i).Child("matchConditions"))
		}
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		for i, h := range o.Webhooks {
			c.matchConditions(h.MatchConditions, false, field.NewPath("webhooks").Index(i).Child("matchConditions"))
		}
	case *admissionregistrationv1.ValidatingAdmissionPolicy:
		c.validatingPolicy(&o.Spec, field.NewPath("spec"))
	case *admissionregistrationv1.MutatingAdmissionPolicy:
		c.mutatingPolicy(&o.Spec, field.NewPath("spec"))
	}
	return c.errs
}

type celChecker struct {
	stored sets.Set[string]
	errs   field.ErrorList
}

var (
	statelessOnce     sync.Once
	statelessCompiler plugincel.Compiler
)

// stateless is upstream's strict stateless compiler (no variable composition).
func stateless() plugincel.Compiler {
	statelessOnce.Do(func() {
		statelessCompiler = plugincel.NewCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	})
	return statelessCompiler
}

// compilerFor is upstream's createCompiler: a compositing compiler when the policy has variables.
func compilerFor(variables int) plugincel.Compiler {
	if variables == 0 {
		return stateless()
	}
	c, err := plugincel.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	if err != nil {
		return stateless()
	}
	return c
}

func (c *celChecker) envType(expression string) environment.Type {
	if c.stored.Has(expression) {
		return environment.StoredExpressions
	}
	return environment.NewExpressions
}

func (c *celChecker) compile(compiler plugincel.Compiler, accessor plugincel.ExpressionAccessor, vars plugincel.OptionalVariableDeclarations, fldPath *field.Path) {
	result := compiler.CompileCELExpression(accessor, vars, c.envType(accessor.GetExpression()))
	if result.Error != nil {
		c.errs = append(c.errs, celError(fldPath, accessor, result.Error))
	}
}

// celError is upstream's convertCELErrorToValidationError.
func celError(fldPath *field.Path, accessor plugincel.ExpressionAccessor, err error) *field.Error {
	if celErr, ok := err.(*apiservercel.Error); ok {
		switch celErr.Type {
		case apiservercel.ErrorTypeRequired:
			return field.Required(fldPath, celErr.Detail)
		case apiservercel.ErrorTypeInvalid:
			return field.Invalid(fldPath, accessor.GetExpression(), celErr.Detail)
		case apiservercel.ErrorTypeInternal:
			return field.InternalError(fldPath, celErr)
		}
	}
	return field.InternalError(fldPath, fmt.Errorf("unsupported error type: %w", err))
}

func (c *celChecker) matchConditions(conditions []admissionregistrationv1.MatchCondition, hasParams bool, fldPath *field.Path) {
	for i, m := range conditions {
		expr := strings.TrimSpace(m.Expression)
		if expr == "" {
			continue // apis/validation reports it
		}
		c.compile(stateless(), &matchconditions.MatchCondition{Expression: expr},
			plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true}, fldPath.Index(i).Child("expression"))
	}
}

func (c *celChecker) variables(compiler plugincel.Compiler, variables []admissionregistrationv1.Variable, hasParams bool, fldPath *field.Path) {
	composited, ok := compiler.(*plugincel.CompositedCompiler)
	for i, v := range variables {
		if strings.TrimSpace(v.Expression) == "" || !ok {
			continue
		}
		variable := &validating.Variable{Name: v.Name, Expression: v.Expression}
		result := composited.CompileAndStoreVariable(variable, plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true}, c.envType(v.Expression))
		if result.Error != nil {
			c.errs = append(c.errs, celError(fldPath.Index(i).Child("expression"), variable, result.Error))
		}
	}
}

func (c *celChecker) validatingPolicy(spec *admissionregistrationv1.ValidatingAdmissionPolicySpec, fldPath *field.Path) {
	hasParams := spec.ParamKind != nil
	c.matchConditions(spec.MatchConditions, hasParams, fldPath.Child("matchConditions"))
	compiler := compilerFor(len(spec.Variables))
	c.variables(compiler, spec.Variables, hasParams, fldPath.Child("variables"))
	for i, v := range spec.Validations {
		vp := fldPath.Child("validations").Index(i)
		if strings.TrimSpace(v.Expression) != "" {
			c.compile(compiler, &validating.ValidationCondition{Expression: v.Expression},
				plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true}, vp.Child("expression"))
		}
		if strings.TrimSpace(v.MessageExpression) != "" {
			// As upstream: params only when the policy allows them in match conditions.
			c.compile(compiler, &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression},
				plugincel.OptionalVariableDeclarations{HasParams: hasParams}, vp.Child("messageExpression"))
		}
	}
	for i, a := range spec.AuditAnnotations {
		if strings.TrimSpace(a.ValueExpression) == "" {
			continue
		}
		c.compile(compiler, &validating.AuditAnnotationCondition{Key: a.Key, ValueExpression: a.ValueExpression},
			plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true}, fldPath.Child("auditAnnotations").Index(i).Child("valueExpression"))
	}
}

func (c *celChecker) mutatingPolicy(spec *admissionregistrationv1.MutatingAdmissionPolicySpec, fldPath *field.Path) {
	hasParams := spec.ParamKind != nil
	c.matchConditions(spec.MatchConditions, hasParams, fldPath.Child("matchConditions"))
	compiler := compilerFor(len(spec.Variables))
	c.variables(compiler, spec.Variables, hasParams, fldPath.Child("variables"))
	vars := plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true, HasPatchTypes: true}
	for i, m := range spec.Mutations {
		mp := fldPath.Child("mutations").Index(i)
		switch {
		case m.PatchType == admissionregistrationv1.PatchTypeJSONPatch && m.JSONPatch != nil && strings.TrimSpace(m.JSONPatch.Expression) != "":
			c.compile(compiler, &patch.JSONPatchCondition{Expression: strings.TrimSpace(m.JSONPatch.Expression)}, vars, mp.Child("jsonPatch", "expression"))
		case m.PatchType == admissionregistrationv1.PatchTypeApplyConfiguration && m.ApplyConfiguration != nil && strings.TrimSpace(m.ApplyConfiguration.Expression) != "":
			c.compile(compiler, &patch.ApplyConfigurationCondition{Expression: strings.TrimSpace(m.ApplyConfiguration.Expression)}, vars, mp.Child("applyConfiguration", "expression"))
		}
	}
}

// storedExpressions lists the CEL expressions of the stored object of an update.
func storedExpressions(old runtime.Object) sets.Set[string] {
	s := sets.New[string]()
	addConditions := func(m []admissionregistrationv1.MatchCondition) {
		for _, c := range m {
			s.Insert(c.Expression, strings.TrimSpace(c.Expression))
		}
	}
	switch o := old.(type) {
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		for _, h := range o.Webhooks {
			addConditions(h.MatchConditions)
		}
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		for _, h := range o.Webhooks {
			addConditions(h.MatchConditions)
		}
	case *admissionregistrationv1.ValidatingAdmissionPolicy:
		addConditions(o.Spec.MatchConditions)
		for _, v := range o.Spec.Variables {
			s.Insert(v.Expression)
		}
		for _, v := range o.Spec.Validations {
			s.Insert(v.Expression, v.MessageExpression)
		}
		for _, a := range o.Spec.AuditAnnotations {
			s.Insert(a.ValueExpression)
		}
	case *admissionregistrationv1.MutatingAdmissionPolicy:
		addConditions(o.Spec.MatchConditions)
		for _, v := range o.Spec.Variables {
			s.Insert(v.Expression)
		}
		for _, m := range o.Spec.Mutations {
			if m.JSONPatch != nil {
				s.Insert(strings.TrimSpace(m.JSONPatch.Expression))
			}
			if m.ApplyConfiguration != nil {
				s.Insert(strings.TrimSpace(m.ApplyConfiguration.Expression))
			}
		}
	}
	return s
}
