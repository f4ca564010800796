// Package apps is the storage of apps/v1 (Provider): replicasets, deployments and statefulsets
// with their status and scale subresources, daemonsets with status, and controllerrevisions.
package apps
