// Package authorization is the storage of the authorization.k8s.io/v1 reviews (Provider),
// create-only as upstream: SubjectAccessReview (may a given user do X), SelfSubjectAccessReview
// (may I: kubectl auth can-i), LocalSubjectAccessReview (a SubjectAccessReview within one
// namespace) and SelfSubjectRulesReview (what may I do in a namespace: kubectl auth can-i --list).
package authorization
