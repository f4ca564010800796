// Package apps is the storage of apps/v1: replicasets and deployments with their status and
// scale subresources (Provider).
package apps
