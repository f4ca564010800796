// Package registry builds the REST storage of every kind Skiff serves: one generic strategy,
// driven by a Kind descriptor (scope, status handling, field-selector attributes, graceful
// deletion), on top of k8s.io/apiserver's registry Store, plus the subresources that need code
// (pods/binding, */scale, namespaces/finalize, selfsubjectreviews).
//
// Defaulting happens in the codec (apis/defaults registered on the scheme), validation in the
// strategy (apis/validation), table conversion in apiserver/printers.
package registry
