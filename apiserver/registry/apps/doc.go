// Package apps is the storage of apps/v1 (Provider): replicasets and deployments with their
// status and scale subresources, daemonsets with status, and controllerrevisions.
package apps
