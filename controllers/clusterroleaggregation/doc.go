// Package clusterroleaggregation fills the rules of ClusterRoles that have an aggregationRule
// (admin, edit, view, ...) with the rules of the ClusterRoles its selectors match, after
// upstream's clusterrole-aggregation controller.
package clusterroleaggregation
