// Package resourcequota is the quota controller, after kube-controller-manager's: it keeps each
// ResourceQuota's status.hard equal to spec.hard and recomputes status.used from the objects in
// its namespace (apis/quota's evaluators; count/<resource> for any served resource), when the
// quota or a counted object changes and periodically, so usage charged by the ResourceQuota
// admission plugin is released when objects go away.
package resourcequota
