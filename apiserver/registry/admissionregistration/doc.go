// Package admissionregistration is the storage of admissionregistration.k8s.io/v1 (Provider):
// validating and mutating webhook configurations, ValidatingAdmissionPolicies (with their
// status subresource) and MutatingAdmissionPolicies with their bindings, as kube-apiserver
// serves them by default. apis/validation checks their structure; cel.go compiles their CEL
// expressions (match conditions, variables, validations, messages, audit annotations,
// mutations) with k8s.io/apiserver's compiler and reports errors at the expression's field path;
// authz.go refuses a policy whose paramKind, or a binding whose paramRef, its author may not read
// (as upstream's strategies).
// The admission plugins that act on them are k8s.io/apiserver's (apiserver/webhooks.go).
package admissionregistration
