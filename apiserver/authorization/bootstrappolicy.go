package authorization

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
)

// The bootstrap policy, after upstream's plugin/pkg/auth/authorizer/rbac/bootstrappolicy,
// restricted to the kinds Skiff serves plus the common ones upstream's roles name.

const (
	// ControllerManagerUser is the controller manager's identity (its client certificate's CN).
	ControllerManagerUser = "system:kube-controller-manager"
	// SchedulerUser is the scheduler's identity.
	SchedulerUser = "system:kube-scheduler"
	// KubeDNSUser is the cluster DNS server's identity (its client certificate's CN), bound to
	// upstream's system:kube-dns role.
	KubeDNSUser = "system:kube-dns"
	// KubeletClientUser is the API server's identity toward node agents (the CN of its client
	// certificate, kube-apiserver's --kubelet-client-certificate in kubeadm), bound to
	// upstream's system:kubelet-api-admin role.
	KubeletClientUser = "kube-apiserver-kubelet-client"
	// KubeletAPIAdminRole is upstream's role of full access to the nodes' agent API.
	KubeletAPIAdminRole = "system:kubelet-api-admin"
	// VolumeSchedulerRole is upstream's role of the scheduler's volume binding, bound to the
	// scheduler's identity.
	VolumeSchedulerRole = "system:volume-scheduler"
	// KubeDNSServiceAccount is upstream's kube-dns account in kube-system.
	KubeDNSServiceAccount = "kube-dns"
	// AutoUpdateAnnotation marks bootstrap objects that are reconciled at every start; set it
	// to "false" to keep your own edits.
	AutoUpdateAnnotation = "rbac.authorization.kubernetes.io/autoupdate"
	aggregateToAdmin     = "rbac.authorization.k8s.io/aggregate-to-admin"
	aggregateToEdit      = "rbac.authorization.k8s.io/aggregate-to-edit"
	aggregateToView      = "rbac.authorization.k8s.io/aggregate-to-view"
	controllerPrefix     = "system:controller:"
)

var (
	read       = []string{"get", "list", "watch"}
	readWrite  = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
	readUpdate = []string{"get", "list", "watch", "update", "patch"}
	write      = []string{"create", "update", "patch", "delete", "deletecollection"}
	eventsRule = rbacv1.PolicyRule{Verbs: []string{"create", "update", "patch"}, APIGroups: []string{"", "events.k8s.io"}, Resources: []string{"events"}}
)

func rule(verbs []string, groups []string, resources ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources}
}

func named(r rbacv1.PolicyRule, names ...string) rbacv1.PolicyRule {
	r.ResourceNames = names
	return r
}

func urls(verbs []string, u ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, NonResourceURLs: u}
}

func groups(g ...string) []string { return g }

func verbs(v ...string) []string { return v }

func bootstrapMeta(name string, labels map[string]string) metav1.ObjectMeta {
	l := map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"}
	for k, v := range labels {
		l[k] = v
	}
	return metav1.ObjectMeta{Name: name, Labels: l, Annotations: map[string]string{AutoUpdateAnnotation: "true"}}
}

func clusterRole(name string, labels map[string]string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	return rbacv1.ClusterRole{ObjectMeta: bootstrapMeta(name, labels), Rules: rules}
}

func aggregated(name, selectorLabel string, labels map[string]string) rbacv1.ClusterRole {
	r := clusterRole(name, labels)
	r.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
		{MatchLabels: map[string]string{selectorLabel: "true"}}}}
	return r
}

// ClusterRoles returns the bootstrap cluster roles.
func ClusterRoles() []rbacv1.ClusterRole {
	return append([]rbacv1.ClusterRole{
		clusterRole("cluster-admin", nil,
			rule(verbs("*"), groups("*"), "*"), urls(verbs("*"), "*")),
		clusterRole("system:discovery", nil,
			urls(verbs("get"), "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/")),
		clusterRole("system:public-info-viewer", nil,
			urls(verbs("get"), "/healthz", "/livez", "/readyz", "/version", "/version/")),
		// Service accounts read the issuer's OIDC discovery documents, as upstream's
		// system:service-account-issuer-discovery.
		clusterRole("system:service-account-issuer-discovery", nil,
			urls(verbs("get"), "/.well-known/openid-configuration", "/.well-known/openid-configuration/", "/openid/v1/jwks", "/openid/v1/jwks/")),
		clusterRole("system:basic-user", nil,
			rule(verbs("create"), groups("authorization.k8s.io"), "selfsubjectaccessreviews", "selfsubjectrulesreviews"),
			rule(verbs("create"), groups("authentication.k8s.io"), "selfsubjectreviews")),
		clusterRole("system:monitoring", nil,
			urls(verbs("get"), "/healthz", "/healthz/*", "/livez", "/livez/*", "/readyz", "/readyz/*", "/metrics", "/metrics/slis")),

		aggregated("admin", aggregateToAdmin, nil),
		aggregated("edit", aggregateToEdit, map[string]string{aggregateToAdmin: "true"}),
		aggregated("view", aggregateToView, map[string]string{aggregateToEdit: "true"}),
		clusterRole("system:aggregate-to-admin", map[string]string{aggregateToAdmin: "true"},
			rule(verbs("create"), groups("authorization.k8s.io"), "localsubjectaccessreviews"),
			rule(readWrite, groups("rbac.authorization.k8s.io"), "rolebindings", "roles")),
		clusterRole("system:aggregate-to-edit", map[string]string{aggregateToEdit: "true"},
			rule(read, groups(""), "pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"),
			rule(verbs("impersonate"), groups(""), "serviceaccounts"),
			rule(write, groups(""), "pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"),
			rule(verbs("create"), groups(""), "pods/eviction"),
			rule(write, groups(""), "configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
				"replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"),
			rule(verbs("create"), groups(""), "serviceaccounts/token"),
			rule(write, groups("apps"), "daemonsets", "deployments", "deployments/rollback", "deployments/scale",
				"replicasets", "replicasets/scale", "statefulsets", "statefulsets/scale"),
			rule(write, groups("autoscaling"), "horizontalpodautoscalers"),
			rule(write, groups("batch"), "cronjobs", "jobs"),
			rule(write, groups("extensions"), "daemonsets", "deployments", "deployments/rollback", "deployments/scale",
				"ingresses", "networkpolicies", "replicasets", "replicasets/scale", "replicationcontrollers/scale"),
			rule(write, groups("policy"), "poddisruptionbudgets"),
			rule(write, groups("networking.k8s.io"), "ingresses", "networkpolicies"),
			rule(readWrite, groups("coordination.k8s.io"), "leases")),
		clusterRole("system:aggregate-to-view", map[string]string{aggregateToView: "true"},
			rule(read, groups(""), "configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods",
				"replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/status"),
			rule(read, groups(""), "bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
				"replicationcontrollers/status", "resourcequotas", "resourcequotas/status"),
			rule(read, groups(""), "namespaces"),
			rule(read, groups("discovery.k8s.io"), "endpointslices"),
			rule(read, groups("apps"), "controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
				"deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets",
				"statefulsets/scale", "statefulsets/status"),
			rule(read, groups("autoscaling"), "horizontalpodautoscalers", "horizontalpodautoscalers/status"),
			rule(read, groups("batch"), "cronjobs", "cronjobs/status", "jobs", "jobs/status"),
			rule(read, groups("extensions"), "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
				"deployments/status", "ingresses", "ingresses/status", "networkpolicies", "replicasets",
				"replicasets/scale", "replicasets/status", "replicationcontrollers/scale"),
			rule(read, groups("policy"), "poddisruptionbudgets", "poddisruptionbudgets/status"),
			rule(read, groups("networking.k8s.io"), "ingresses", "ingresses/status", "networkpolicies")),
		// metrics-server's reader of metrics.k8s.io (kubectl top), aggregated into view, edit and
		// admin; Skiff serves the group itself (or metrics-server does, --disable-metrics-api).
		clusterRole("system:aggregated-metrics-reader", map[string]string{"k8s-app": "metrics-server",
			aggregateToView: "true", aggregateToEdit: "true", aggregateToAdmin: "true"},
			rule(verbs("get", "list", "watch"), groups("metrics.k8s.io"), "pods", "nodes")),

		clusterRole("system:node", nil, NodeRules()...),
		// Upstream's role of full access to the agents' API (logs, exec, attach, port-forward,
		// metrics, stats): the node agents authorize every request on nodes/<subresource>.
		clusterRole(KubeletAPIAdminRole, nil,
			rule(read, groups(""), "nodes"),
			rule(verbs("proxy"), groups(""), "nodes"),
			rule(verbs("*"), groups(""), "nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log")),
		clusterRole("system:node-proxier", nil,
			rule(verbs("list", "watch"), groups(""), "endpoints", "services"),
			rule(read, groups(""), "nodes"),
			eventsRule,
			rule(verbs("list", "watch"), groups("discovery.k8s.io"), "endpointslices")),
		// Upstream's role of the cluster DNS server, with the reads Skiff's DNS informers make:
		// Services and EndpointSlices (upstream's kube-dns read Endpoints instead).
		clusterRole("system:kube-dns", nil,
			rule(verbs("list", "watch"), groups(""), "services"),
			rule(verbs("list", "watch"), groups("discovery.k8s.io"), "endpointslices")),
		// Upstream's role of extension API servers that delegate authentication and authorization
		// to this server (metrics-server and sample-apiserver bind it), and of the aggregator.
		clusterRole("system:auth-delegator", nil,
			rule(verbs("create"), groups("authentication.k8s.io"), "tokenreviews"),
			rule(verbs("create"), groups("authorization.k8s.io"), "subjectaccessreviews")),
		clusterRole("system:kube-aggregator", nil,
			rule(read, groups(""), "services", "endpoints")),
		clusterRole("system:node-bootstrapper", nil,
			rule(verbs("create", "get", "list", "watch"), groups("certificates.k8s.io"), "certificatesigningrequests")),
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:nodeclient", nil,
			rule(verbs("create"), groups("certificates.k8s.io"), "certificatesigningrequests/nodeclient")),
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", nil,
			rule(verbs("create"), groups("certificates.k8s.io"), "certificatesigningrequests/selfnodeclient")),
		clusterRole("system:kube-controller-manager", nil,
			eventsRule,
			rule(verbs("create"), groups("coordination.k8s.io"), "leases"),
			named(rule(verbs("get", "update"), groups("coordination.k8s.io"), "leases"), "kube-controller-manager", "skiff-controller-manager"),
			rule(verbs("create"), groups(""), "endpoints"),
			named(rule(verbs("get", "update"), groups(""), "endpoints"), "kube-controller-manager"),
			rule(verbs("create"), groups(""), "secrets", "serviceaccounts"),
			rule(verbs("delete"), groups(""), "secrets"),
			rule(verbs("get"), groups(""), "configmaps", "namespaces", "secrets", "serviceaccounts"),
			rule(verbs("update"), groups(""), "secrets", "serviceaccounts"),
			rule(verbs("create"), groups("authentication.k8s.io"), "tokenreviews"),
			rule(verbs("create"), groups("authorization.k8s.io"), "subjectaccessreviews"),
			rule(verbs("list", "watch"), groups("*"), "*"),
			rule(verbs("create"), groups(""), "serviceaccounts/token")),
		clusterRole("system:kube-scheduler", nil,
			eventsRule,
			rule(verbs("create"), groups("coordination.k8s.io"), "leases"),
			named(rule(verbs("get", "update"), groups("coordination.k8s.io"), "leases"), "kube-scheduler"),
			rule(read, groups(""), "nodes"),
			rule(verbs("get", "list", "watch", "delete"), groups(""), "pods"),
			rule(verbs("create"), groups(""), "bindings", "pods/binding"),
			rule(verbs("patch", "update"), groups(""), "pods/status"),
			rule(read, groups(""), "replicationcontrollers", "services", "namespaces", "persistentvolumeclaims", "persistentvolumes"),
			rule(read, groups("apps", "extensions"), "replicasets"),
			rule(read, groups("apps"), "statefulsets"),
			rule(read, groups("policy"), "poddisruptionbudgets"),
			rule(verbs("create"), groups("authentication.k8s.io"), "tokenreviews"),
			rule(verbs("create"), groups("authorization.k8s.io"), "subjectaccessreviews"),
			rule(read, groups("storage.k8s.io"), "csinodes", "csidrivers", "csistoragecapacities", "storageclasses"),
			rule(read, groups("storage.k8s.io"), "volumeattachments")),
		// The scheduler's volume binding: it binds claims to volumes and marks claims for
		// provisioning (volume.kubernetes.io/selected-node) on the node it chose.
		clusterRole(VolumeSchedulerRole, nil,
			rule(readUpdate, groups(""), "persistentvolumes"),
			rule(read, groups("storage.k8s.io"), "storageclasses"),
			rule(readUpdate, groups(""), "persistentvolumeclaims")),
	}, controllerRoles()...)
}

// controllerRoles are upstream's system:controller:<name> roles for the controllers Skiff runs
// (and Skiff's own, named likewise).
func controllerRoles() []rbacv1.ClusterRole {
	c := func(name string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
		return clusterRole(controllerPrefix+name, nil, append(rules, eventsRule)...)
	}
	return []rbacv1.ClusterRole{
		c("replicaset-controller",
			rule(verbs("get", "list", "watch", "update"), groups("apps", "extensions"), "replicasets"),
			rule(verbs("update"), groups("apps", "extensions"), "replicasets/status", "replicasets/finalizers"),
			rule(verbs("list", "watch", "patch", "create", "delete"), groups(""), "pods")),
		c("replication-controller",
			rule(verbs("get", "list", "watch", "update"), groups(""), "replicationcontrollers"),
			rule(verbs("update"), groups(""), "replicationcontrollers/status", "replicationcontrollers/finalizers"),
			rule(verbs("list", "watch", "patch", "create", "delete"), groups(""), "pods")),
		c("deployment-controller",
			rule(verbs("get", "list", "watch", "update"), groups("apps", "extensions"), "deployments"),
			rule(verbs("update"), groups("apps", "extensions"), "deployments/status", "deployments/finalizers"),
			rule(verbs("get", "list", "watch", "create", "update", "patch", "delete"), groups("apps", "extensions"), "replicasets"),
			rule(verbs("get", "list", "watch", "update"), groups(""), "pods")),
		c("job-controller",
			rule(verbs("get", "list", "watch", "update", "patch"), groups("batch"), "jobs"),
			rule(verbs("update", "patch"), groups("batch"), "jobs/status"),
			rule(verbs("update"), groups("batch"), "jobs/finalizers"),
			rule(verbs("list", "watch", "create", "delete", "patch"), groups(""), "pods")),
		c("cronjob-controller",
			rule(verbs("get", "list", "watch", "update"), groups("batch"), "cronjobs"),
			rule(verbs("get", "list", "watch", "create", "update", "delete", "patch"), groups("batch"), "jobs"),
			rule(verbs("update"), groups("batch"), "cronjobs/status", "cronjobs/finalizers"),
			rule(verbs("list", "delete"), groups(""), "pods")),
		c("ttl-after-finished-controller",
			rule(verbs("delete", "get", "list", "watch"), groups("batch"), "jobs")),
		c("endpoint-controller",
			rule(read, groups(""), "services", "pods"),
			rule(verbs("get", "list", "create", "update", "delete"), groups(""), "endpoints"),
			rule(verbs("create"), groups(""), "endpoints/restricted")),
		c("endpointslice-controller",
			rule(read, groups(""), "services", "pods", "nodes"),
			rule(verbs("get", "list", "watch", "create", "update", "delete"), groups("discovery.k8s.io"), "endpointslices")),
		c("generic-garbage-collector",
			rule(verbs("get", "list", "watch", "patch", "update", "delete"), groups("*"), "*")),
		c("namespace-controller",
			rule(verbs("get", "list", "watch", "delete"), groups(""), "namespaces"),
			rule(verbs("update"), groups(""), "namespaces/finalize", "namespaces/status"),
			rule(verbs("get", "list", "delete", "deletecollection"), groups("*"), "*")),
		c("node-controller",
			rule(verbs("get", "list", "update", "delete", "patch"), groups(""), "nodes"),
			rule(verbs("patch", "update"), groups(""), "nodes/status", "pods/status"),
			rule(verbs("list", "delete", "get"), groups(""), "pods")),
		c("certificate-controller",
			// delete: the CSR cleaner's, as upstream's role.
			rule(verbs("get", "list", "watch", "delete"), groups("certificates.k8s.io"), "certificatesigningrequests"),
			rule(verbs("update"), groups("certificates.k8s.io"), "certificatesigningrequests/approval", "certificatesigningrequests/status"),
			named(rule(verbs("approve", "sign"), groups("certificates.k8s.io"), "signers"),
				"kubernetes.io/kube-apiserver-client-kubelet", "kubernetes.io/kubelet-serving", "kubernetes.io/legacy-unknown"),
			rule(verbs("create"), groups("authorization.k8s.io"), "subjectaccessreviews")),
		c("validatingadmissionpolicy-status-controller",
			rule(read, groups("admissionregistration.k8s.io"), "validatingadmissionpolicies"),
			rule(verbs("get", "patch", "update"), groups("admissionregistration.k8s.io"), "validatingadmissionpolicies/status")),
		c("clusterrole-aggregation-controller",
			rule(verbs("escalate", "get", "list", "watch", "patch", "update"), groups("rbac.authorization.k8s.io"), "clusterroles")),
		c("serviceaccount-controller",
			rule(verbs("create"), groups(""), "serviceaccounts")),
		c("root-ca-cert-publisher",
			rule(verbs("create", "update"), groups(""), "configmaps")),
		c("resourcequota-controller",
			rule(verbs("list", "watch"), groups("*"), "*"),
			rule(verbs("update"), groups(""), "resourcequotas/status")),
		c("disruption-controller",
			rule(read, groups("apps", "extensions"), "deployments", "replicasets"),
			rule(read, groups(""), "replicationcontrollers"),
			rule(read, groups("policy"), "poddisruptionbudgets"),
			rule(read, groups("apps"), "statefulsets"),
			rule(verbs("update"), groups("policy"), "poddisruptionbudgets/status"),
			rule(verbs("patch", "update"), groups(""), "pods/status"),
			rule(verbs("get"), groups("*"), "*/scale")),
		c("horizontal-pod-autoscaler",
			rule(verbs("get", "list", "watch"), groups("autoscaling"), "horizontalpodautoscalers"),
			rule(verbs("update"), groups("autoscaling"), "horizontalpodautoscalers/status"),
			rule(verbs("get", "update"), groups("*"), "*/scale"),
			rule(verbs("list"), groups(""), "pods"),
			// resource, custom and external metrics
			rule(verbs("list"), groups("metrics.k8s.io"), "pods"),
			rule(verbs("get", "list"), groups("custom.metrics.k8s.io"), "*"),
			rule(verbs("get", "list"), groups("external.metrics.k8s.io"), "*")),
		c("service-controller",
			rule(read, groups(""), "services"),
			rule(verbs("patch", "update"), groups(""), "services"),
			rule(verbs("patch", "update"), groups(""), "services/status"),
			rule(verbs("list", "watch"), groups(""), "nodes")),
		c("daemon-set-controller",
			rule(verbs("get", "list", "watch"), groups("extensions", "apps"), "daemonsets"),
			rule(verbs("update"), groups("extensions", "apps"), "daemonsets/status", "daemonsets/finalizers"),
			rule(verbs("list", "watch"), groups(""), "nodes"),
			rule(verbs("list", "watch", "create", "delete", "patch"), groups(""), "pods"),
			rule(verbs("create"), groups(""), "pods/binding"),
			rule(verbs("get", "list", "watch", "create", "delete", "update", "patch"), groups("apps"), "controllerrevisions")),
		c("statefulset-controller",
			rule(verbs("list", "watch"), groups(""), "pods"),
			rule(verbs("get", "list", "watch"), groups("apps"), "statefulsets"),
			rule(verbs("update"), groups("apps"), "statefulsets/status"),
			rule(verbs("update"), groups("apps"), "statefulsets/finalizers"),
			rule(verbs("get", "create", "delete", "update", "patch"), groups(""), "pods"),
			rule(verbs("get", "create", "delete", "update", "patch", "list", "watch"), groups("apps"), "controllerrevisions"),
			rule(verbs("get", "create"), groups(""), "persistentvolumeclaims"),
			rule(verbs("update", "delete"), groups(""), "persistentvolumeclaims")),
		// Volumes: the PV controller (binding, provisioning through external provisioners,
		// reclaiming), the protection controllers that remove the pvc-/pv-protection finalizers,
		// resizing, and the claims of pods' ephemeral volumes.
		c("persistent-volume-binder",
			rule(verbs("get", "list", "watch", "update", "create", "delete"), groups(""), "persistentvolumes"),
			rule(verbs("update"), groups(""), "persistentvolumes/status"),
			rule(verbs("get", "list", "watch", "update"), groups(""), "persistentvolumeclaims"),
			rule(verbs("update"), groups(""), "persistentvolumeclaims/status"),
			rule(verbs("list", "watch", "get", "create", "delete"), groups(""), "pods"),
			rule(read, groups("storage.k8s.io"), "storageclasses"),
			rule(verbs("list", "watch"), groups(""), "nodes"),
			rule(verbs("watch"), groups(""), "events")),
		c("pvc-protection-controller",
			rule(verbs("get", "list", "watch", "update"), groups(""), "persistentvolumeclaims"),
			rule(verbs("update"), groups(""), "persistentvolumeclaims/status"),
			rule(verbs("list", "watch", "get"), groups(""), "pods")),
		c("pv-protection-controller",
			rule(verbs("get", "list", "watch", "update"), groups(""), "persistentvolumes")),
		c("expand-controller",
			rule(verbs("get", "list", "watch", "update", "patch"), groups(""), "persistentvolumes"),
			rule(verbs("update", "patch"), groups(""), "persistentvolumeclaims/status"),
			rule(read, groups(""), "persistentvolumeclaims")),
		c("ephemeral-volume-controller",
			rule(read, groups(""), "pods"),
			rule(verbs("update"), groups(""), "pods/finalizers"),
			rule(verbs("get", "list", "watch", "create"), groups(""), "persistentvolumeclaims")),
		// Skiff's own controllers.
		c("skiff-ingress-status-controller",
			rule(read, groups("networking.k8s.io"), "ingresses", "ingressclasses"),
			rule(verbs("update", "patch"), groups("networking.k8s.io"), "ingresses/status"),
			rule(verbs("list", "watch"), groups(""), "nodes")),
		c("skiff-fault-controller",
			rule(readWrite, groups("chaos.skiff.dev"), "*"),
			rule(verbs("get", "list", "watch", "delete"), groups(""), "pods")),
	}
}

// ControllerManagerRoles are the roles bound to the controller manager's identity: upstream's
// system:kube-controller-manager, each controller's role, and system:kube-scheduler and
// system:volume-scheduler (Skiff runs the scheduler in the controller manager).
func ControllerManagerRoles() []string {
	out := []string{"system:kube-controller-manager", "system:kube-scheduler", VolumeSchedulerRole}
	for _, r := range controllerRoles() {
		out = append(out, r.Name)
	}
	return out
}

func clusterRoleBinding(name, role string, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{ObjectMeta: bootstrapMeta(name, nil),
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects: subjects}
}

func groupSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

func userSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

// ClusterRoleBindings returns the bootstrap cluster role bindings: upstream's, kubeadm's for
// joining nodes, and Skiff's for the controller manager and node proxy identities.
func ClusterRoleBindings() []rbacv1.ClusterRoleBinding {
	out := []rbacv1.ClusterRoleBinding{
		clusterRoleBinding("cluster-admin", "cluster-admin", groupSubject(user.SystemPrivilegedGroup)),
		clusterRoleBinding("system:discovery", "system:discovery", groupSubject(user.AllAuthenticated)),
		clusterRoleBinding("system:basic-user", "system:basic-user", groupSubject(user.AllAuthenticated)),
		clusterRoleBinding("system:public-info-viewer", "system:public-info-viewer",
			groupSubject(user.AllAuthenticated), groupSubject(user.AllUnauthenticated)),
		clusterRoleBinding("system:monitoring", "system:monitoring", groupSubject("system:monitoring")),
		clusterRoleBinding("system:service-account-issuer-discovery", "system:service-account-issuer-discovery",
			groupSubject("system:serviceaccounts")),
		clusterRoleBinding("system:kube-controller-manager", "system:kube-controller-manager", userSubject(ControllerManagerUser)),
		clusterRoleBinding("system:kube-scheduler", "system:kube-scheduler", userSubject(SchedulerUser)),
		clusterRoleBinding(VolumeSchedulerRole, VolumeSchedulerRole, userSubject(SchedulerUser)),
		clusterRoleBinding("system:node-proxier", "system:node-proxier", userSubject("system:kube-proxy")),
		clusterRoleBinding("system:kube-dns", "system:kube-dns",
			rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "kube-system", Name: KubeDNSServiceAccount},
			userSubject(KubeDNSUser)),
		// kubeadm's bindings for joining nodes: join tokens may request client certificates,
		// which are approved automatically; nodes may renew their own.
		clusterRoleBinding("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", groupSubject("system:bootstrappers")),
		clusterRoleBinding("kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient", groupSubject("system:bootstrappers")),
		clusterRoleBinding("kubeadm:node-autoapprove-certificate-rotation", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", groupSubject(NodesGroup)),
		// The API server reaches node agents (pods/log, exec, attach, portforward) as
		// kube-apiserver-kubelet-client, as kubeadm binds it.
		clusterRoleBinding("skiff:kube-apiserver-kubelet-client", KubeletAPIAdminRole, userSubject(KubeletClientUser)),
		// Skiff's node agent runs the service proxy with the node's credential.
		clusterRoleBinding("skiff:node-proxier", "system:node-proxier", groupSubject(NodesGroup)),
	}
	for _, r := range controllerRoles() {
		name := r.Name[len(controllerPrefix):]
		out = append(out, clusterRoleBinding(r.Name, r.Name,
			rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "kube-system", Name: name}))
		// Skiff's controllers run in one process under the controller manager's identity.
		out = append(out, clusterRoleBinding("skiff:controller-manager:"+name, r.Name, userSubject(ControllerManagerUser)))
	}
	out = append(out, clusterRoleBinding("skiff:controller-manager:scheduler", "system:kube-scheduler", userSubject(ControllerManagerUser)))
	out = append(out, clusterRoleBinding("skiff:controller-manager:volume-scheduler", VolumeSchedulerRole, userSubject(ControllerManagerUser)))
	return out
}

// Roles returns the bootstrap namespaced roles by namespace.
func Roles() []rbacv1.Role {
	role := func(ns, name string, rules ...rbacv1.PolicyRule) rbacv1.Role {
		m := bootstrapMeta(name, nil)
		m.Namespace = ns
		return rbacv1.Role{ObjectMeta: m, Rules: rules}
	}
	return []rbacv1.Role{
		role("kube-public", "system:controller:bootstrap-signer",
			rule(read, groups(""), "configmaps"),
			named(rule(verbs("update"), groups(""), "configmaps"), "cluster-info"), eventsRule),
		// kubeadm's: anyone may read the cluster-info ConfigMap to join.
		role("kube-public", "kubeadm:bootstrap-signer-clusterinfo",
			named(rule(verbs("get"), groups(""), "configmaps"), "cluster-info")),
		role("kube-system", "extension-apiserver-authentication-reader",
			named(rule(read, groups(""), "configmaps"), "extension-apiserver-authentication")),
		role("kube-system", "system::leader-locking-kube-controller-manager",
			rule(verbs("watch"), groups(""), "configmaps"),
			named(rule(verbs("get", "update"), groups(""), "configmaps"), "kube-controller-manager")),
		role("kube-system", "system::leader-locking-kube-scheduler",
			rule(verbs("watch"), groups(""), "configmaps"),
			named(rule(verbs("get", "update"), groups(""), "configmaps"), "kube-scheduler")),
		// Skiff's DNS server keeps the kube-dns Service (created when missing) and its member's
		// EndpointSlice kube-dns-<member> in kube-system.
		role("kube-system", "skiff:kube-dns",
			named(rule(verbs("get"), groups(""), "services"), "kube-dns"),
			rule(verbs("create"), groups(""), "services"),
			rule(verbs("get", "create", "update", "delete"), groups("discovery.k8s.io"), "endpointslices")),
	}
}

// RoleBindings returns the bootstrap namespaced role bindings.
func RoleBindings() []rbacv1.RoleBinding {
	binding := func(ns, name, role string, subjects ...rbacv1.Subject) rbacv1.RoleBinding {
		m := bootstrapMeta(name, nil)
		m.Namespace = ns
		return rbacv1.RoleBinding{ObjectMeta: m, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role}, Subjects: subjects}
	}
	return []rbacv1.RoleBinding{
		binding("kube-public", "kubeadm:bootstrap-signer-clusterinfo", "kubeadm:bootstrap-signer-clusterinfo", userSubject(user.Anonymous)),
		binding("kube-system", "system::extension-apiserver-authentication-reader", "extension-apiserver-authentication-reader",
			userSubject(ControllerManagerUser), userSubject(SchedulerUser)),
		binding("kube-system", "system::leader-locking-kube-controller-manager", "system::leader-locking-kube-controller-manager",
			userSubject(ControllerManagerUser)),
		binding("kube-system", "system::leader-locking-kube-scheduler", "system::leader-locking-kube-scheduler",
			userSubject(SchedulerUser)),
		binding("kube-system", "skiff:kube-dns", "skiff:kube-dns", userSubject(KubeDNSUser)),
	}
}
