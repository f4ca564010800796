// Package validatingadmissionpolicystatus type-checks ValidatingAdmissionPolicies, after
// upstream's validatingadmissionpolicy-status controller: each new generation of a policy gets
// status.typeChecking with a warning per expression that does not type-check against the
// schemas of the kinds it matches (and of its paramKind), and status.observedGeneration. The
// schemas come from the API server's OpenAPI v3 through discovery (k8s.io/apiserver's
// TypeChecker with a ClientDiscoveryResolver), so custom resources are checked too.
package validatingadmissionpolicystatus
