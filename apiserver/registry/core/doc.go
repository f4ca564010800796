// Package core is the storage of the legacy core/v1 group (Provider): it assembles pods, nodes,
// namespaces and services from their packages under core/, and serves the plain kinds itself
// (endpoints, events, configmaps, secrets, serviceaccounts with serviceaccounts/token,
// resourcequotas, limitranges, persistentvolumeclaims).
package core
