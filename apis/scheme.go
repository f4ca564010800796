package apis

import (
	"fmt"
	"reflect"
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-dev/skiff/apis/conversion"
	"github.com/skiff-dev/skiff/apis/defaults"
)

// Group describes one API group version Skiff serves from k8s.io/api.
type Group struct {
	// GroupVersion is the external version, e.g. apps/v1.
	GroupVersion schema.GroupVersion
	// AddToScheme registers the external types (k8s.io/api's own AddToScheme).
	AddToScheme func(*runtime.Scheme) error
	// Converted lists the kinds whose internal version is another version's type (the
	// group's storage version, registered before): the scheme converts this version's objects
	// to and from it with apis/conversion, as upstream's conversions do.
	Converted []string
}

// Groups lists the API group versions Skiff serves, core first.
var Groups = []Group{
	{GroupVersion: corev1.SchemeGroupVersion, AddToScheme: corev1.AddToScheme},
	{GroupVersion: appsv1.SchemeGroupVersion, AddToScheme: appsv1.AddToScheme},
	// autoscaling/v2 first: the preferred and storage version; v1 is converted (apis/conversion).
	{GroupVersion: autoscalingv2.SchemeGroupVersion, AddToScheme: autoscalingv2.AddToScheme},
	{GroupVersion: autoscalingv1.SchemeGroupVersion, AddToScheme: autoscalingv1.AddToScheme,
		Converted: []string{"HorizontalPodAutoscaler", "HorizontalPodAutoscalerList"}},
	{GroupVersion: batchv1.SchemeGroupVersion, AddToScheme: batchv1.AddToScheme},
	{GroupVersion: coordinationv1.SchemeGroupVersion, AddToScheme: coordinationv1.AddToScheme},
	{GroupVersion: discoveryv1.SchemeGroupVersion, AddToScheme: discoveryv1.AddToScheme},
	{GroupVersion: eventsv1.SchemeGroupVersion, AddToScheme: eventsv1.AddToScheme},
	{GroupVersion: policyv1.SchemeGroupVersion, AddToScheme: policyv1.AddToScheme},
	{GroupVersion: authenticationv1.SchemeGroupVersion, AddToScheme: authenticationv1.AddToScheme},
	{GroupVersion: networkingv1.SchemeGroupVersion, AddToScheme: networkingv1.AddToScheme},
	{GroupVersion: certificatesv1.SchemeGroupVersion, AddToScheme: certificatesv1.AddToScheme},
	{GroupVersion: rbacv1.SchemeGroupVersion, AddToScheme: rbacv1.AddToScheme},
	{GroupVersion: schedulingv1.SchemeGroupVersion, AddToScheme: schedulingv1.AddToScheme},
	{GroupVersion: nodev1.SchemeGroupVersion, AddToScheme: nodev1.AddToScheme},
	{GroupVersion: storagev1.SchemeGroupVersion, AddToScheme: storagev1.AddToScheme},
	{GroupVersion: authorizationv1.SchemeGroupVersion, AddToScheme: authorizationv1.AddToScheme},
	{GroupVersion: admissionregistrationv1.SchemeGroupVersion, AddToScheme: admissionregistrationv1.AddToScheme},
	{GroupVersion: flowcontrolv1.SchemeGroupVersion, AddToScheme: flowcontrolv1.AddToScheme},
}

// AddToScheme registers every served group: the k8s.io/api types under their external version
// and, a second time, as their own internal version, plus the field-label conversions that field
// selectors need.
func AddToScheme(scheme *runtime.Scheme) error {
	for _, g := range Groups {
		if err := g.AddToScheme(scheme); err != nil {
			return fmt.Errorf("registering %s: %w", g.GroupVersion, err)
		}
		internal := schema.GroupVersion{Group: g.GroupVersion.Group, Version: runtime.APIVersionInternal}
		for kind, typ := range scheme.KnownTypes(g.GroupVersion) {
			if _, isMeta := metaKinds[kind]; isMeta || slices.Contains(g.Converted, kind) {
				continue
			}
			obj, ok := runtimeNew(scheme, g.GroupVersion.WithKind(kind))
			if !ok {
				return fmt.Errorf("type %v for %s/%s is not a runtime.Object", typ, g.GroupVersion, kind)
			}
			scheme.AddKnownTypeWithName(internal.WithKind(kind), obj)
		}
	}
	if err := addFieldLabelConversions(scheme); err != nil {
		return err
	}
	if err := conversion.AddToScheme(scheme); err != nil {
		return err
	}
	addDefaultingFuncs(scheme)
	return nil
}

// addDefaultingFuncs registers apis/defaults for every served type and list, so that request
// bodies, patches and objects read from storage are defaulted as upstream's codecs do.
func addDefaultingFuncs(scheme *runtime.Scheme) {
	seen := map[reflect.Type]bool{}
	for _, g := range Groups {
		for _, typ := range scheme.KnownTypes(g.GroupVersion) {
			if seen[typ] {
				continue
			}
			seen[typ] = true
			obj, ok := reflect.New(typ).Interface().(runtime.Object)
			if !ok {
				continue
			}
			if meta.IsListType(obj) {
				scheme.AddTypeDefaultingFunc(obj, func(list any) {
					_ = meta.EachListItem(list.(runtime.Object), func(item runtime.Object) error {
						defaults.Default(item)
						return nil
					})
				})
				continue
			}
			scheme.AddTypeDefaultingFunc(obj, func(o any) { defaults.Default(o.(runtime.Object)) })
		}
	}
}

// metaKinds are the meta/v1 types every group registers; they stay unversioned.
var metaKinds = map[string]struct{}{
	"WatchEvent": {}, "Status": {}, "ListOptions": {}, "GetOptions": {}, "DeleteOptions": {},
	"CreateOptions": {}, "UpdateOptions": {}, "PatchOptions": {}, "APIVersions": {},
	"APIGroupList": {}, "APIGroup": {}, "APIResourceList": {}, "ExportOptions": {},
	"Table": {}, "TableOptions": {}, "PartialObjectMetadata": {}, "PartialObjectMetadataList": {},
	"List": {}, "InternalEvent": {},
}

func runtimeNew(scheme *runtime.Scheme, gvk schema.GroupVersionKind) (runtime.Object, bool) {
	obj, err := scheme.New(gvk)
	return obj, err == nil
}

// FieldLabels lists, per kind, the fields (beyond metadata.name and metadata.namespace) that
// field selectors accept, as kube-apiserver does.
var FieldLabels = map[schema.GroupVersionKind][]string{
	corev1.SchemeGroupVersion.WithKind("Pod"): {
		"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
		"spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName",
	},
	corev1.SchemeGroupVersion.WithKind("Node"):      {"spec.unschedulable"},
	corev1.SchemeGroupVersion.WithKind("Namespace"): {"status.phase"},
	corev1.SchemeGroupVersion.WithKind("Secret"):    {"type"},
	corev1.SchemeGroupVersion.WithKind("Event"): {
		"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
		"involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
		"involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
	},
	eventsv1.SchemeGroupVersion.WithKind("Event"): {
		"regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
		"regarding.apiVersion", "regarding.resourceVersion", "regarding.fieldPath", "reason",
		"reportingController", "type",
	},
	appsv1.SchemeGroupVersion.WithKind("ReplicaSet"):                        {"status.replicas"},
	batchv1.SchemeGroupVersion.WithKind("Job"):                              {"status.successful"},
	certificatesv1.SchemeGroupVersion.WithKind("CertificateSigningRequest"): {"spec.signerName"},
}

func addFieldLabelConversions(scheme *runtime.Scheme) error {
	for gvk, fields := range FieldLabels {
		allowed := map[string]bool{"metadata.name": true, "metadata.namespace": true}
		for _, f := range fields {
			allowed[f] = true
		}
		kind := gvk
		fn := func(label, value string) (string, string, error) {
			if allowed[label] {
				return label, value, nil
			}
			return "", "", fmt.Errorf("field label not supported: %s", label)
		}
		if err := scheme.AddFieldLabelConversionFunc(kind, fn); err != nil {
			return fmt.Errorf("field labels for %s: %w", kind, err)
		}
	}
	return nil
}

// Unversioned are the meta types served outside any group version.
var Unversioned = []runtime.Object{
	&metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{}, &metav1.APIGroup{},
	&metav1.APIResourceList{},
}
