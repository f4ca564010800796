package printers

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fixedNow is the clock every test runs against.
var fixedNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func init() { now = func() time.Time { return fixedNow } }

// ago returns the time d before fixedNow.
func ago(d time.Duration) metav1.Time { return metav1.NewTime(fixedNow.Add(-d)) }

func ptrTo[T any](v T) *T { return &v }

func microAgo(d time.Duration) metav1.MicroTime { return metav1.NewMicroTime(fixedNow.Add(-d)) }

func objMeta(name string, age time.Duration) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: ago(age)}
}

var (
	podsGR                = schema.GroupResource{Resource: "pods"}
	nodesGR               = schema.GroupResource{Resource: "nodes"}
	namespacesGR          = schema.GroupResource{Resource: "namespaces"}
	servicesGR            = schema.GroupResource{Resource: "services"}
	endpointsGR           = schema.GroupResource{Resource: "endpoints"}
	coreEventsGR          = schema.GroupResource{Resource: "events"}
	configMapsGR          = schema.GroupResource{Resource: "configmaps"}
	secretsGR             = schema.GroupResource{Resource: "secrets"}
	serviceAccountGR      = schema.GroupResource{Resource: "serviceaccounts"}
	replicaSetsGR         = schema.GroupResource{Group: "apps", Resource: "replicasets"}
	deploymentsGR         = schema.GroupResource{Group: "apps", Resource: "deployments"}
	daemonSetsGR          = schema.GroupResource{Group: "apps", Resource: "daemonsets"}
	statefulSetsGR        = schema.GroupResource{Group: "apps", Resource: "statefulsets"}
	pvcsGR                = schema.GroupResource{Resource: "persistentvolumeclaims"}
	pvsGR                 = schema.GroupResource{Resource: "persistentvolumes"}
	controllerRevisionsGR = schema.GroupResource{Group: "apps", Resource: "controllerrevisions"}
	leasesGR              = schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}
	endpointSlicesGR      = schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}
	eventsEventsGR        = schema.GroupResource{Group: "events.k8s.io", Resource: "events"}
	csrGR                 = schema.GroupResource{Group: "certificates.k8s.io", Resource: "certificatesigningrequests"}
	jobsGR                = schema.GroupResource{Group: "batch", Resource: "jobs"}
	cronJobsGR            = schema.GroupResource{Group: "batch", Resource: "cronjobs"}
	priorityClassesGR     = schema.GroupResource{Group: "scheduling.k8s.io", Resource: "priorityclasses"}
	runtimeClassesGR      = schema.GroupResource{Group: "node.k8s.io", Resource: "runtimeclasses"}
)

// convert runs the resource's convertor with default options and fails the test on error.
func convert(t *testing.T, gr schema.GroupResource, obj runtime.Object) *metav1.Table {
	t.Helper()
	c := ForResource(gr)
	if c == nil {
		t.Fatalf("ForResource(%s) = nil", gr)
	}
	table, err := c.ConvertToTable(context.Background(), obj, &metav1.TableOptions{})
	if err != nil {
		t.Fatalf("ConvertToTable(%T): %v", obj, err)
	}
	// Cells must be JSON-compatible values: DeepCopy panics on anything else (e.g. int).
	_ = table.DeepCopy()
	return table
}

// rowCells converts a single object and returns its one row's cells.
func rowCells(t *testing.T, gr schema.GroupResource, obj runtime.Object) []any {
	t.Helper()
	table := convert(t, gr, obj)
	if len(table.Rows) != 1 {
		t.Fatalf("got %d rows, want 1", len(table.Rows))
	}
	if table.Rows[0].Object.Object != obj {
		t.Errorf("row object = %p, want the printed object %p", table.Rows[0].Object.Object, obj)
	}
	if got, want := len(table.Rows[0].Cells), len(table.ColumnDefinitions); got != want {
		t.Errorf("row has %d cells for %d columns", got, want)
	}
	return table.Rows[0].Cells
}

func checkCells(t *testing.T, got, want []any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cells mismatch\n got: %#v\nwant: %#v", got, want)
	}
}

type column struct {
	name     string
	typ      string
	priority int32
}

// columnsTestedElsewhere are resources whose columns their group's own test checks.
var columnsTestedElsewhere = map[schema.GroupResource]bool{}

func TestColumns(t *testing.T) {
	tests := []struct {
		gr   schema.GroupResource
		want []column
	}{
		{podsGR, []column{{"Name", "string", 0}, {"Ready", "string", 0}, {"Status", "string", 0}, {"Restarts", "string", 0}, {"Age", "string", 0},
			{"IP", "string", 1}, {"Node", "string", 1}, {"Nominated Node", "string", 1}, {"Readiness Gates", "string", 1}}},
		{nodesGR, []column{{"Name", "string", 0}, {"Status", "string", 0}, {"Roles", "string", 0}, {"Age", "string", 0}, {"Version", "string", 0},
			{"Internal-IP", "string", 1}, {"External-IP", "string", 1}, {"OS-Image", "string", 1}, {"Kernel-Version", "string", 1}, {"Container-Runtime", "string", 1}}},
		{namespacesGR, []column{{"Name", "string", 0}, {"Status", "string", 0}, {"Age", "string", 0}}},
		{servicesGR, []column{{"Name", "string", 0}, {"Type", "string", 0}, {"Cluster-IP", "string", 0}, {"External-IP", "string", 0}, {"Port(s)", "string", 0}, {"Age", "string", 0},
			{"Selector", "string", 1}}},
		{endpointsGR, []column{{"Name", "string", 0}, {"Endpoints", "string", 0}, {"Age", "string", 0}}},
		{coreEventsGR, []column{{"Last Seen", "string", 0}, {"Type", "string", 0}, {"Reason", "string", 0}, {"Object", "string", 0}, {"Subobject", "string", 1},
			{"Source", "string", 1}, {"Message", "string", 0}, {"First Seen", "string", 1}, {"Count", "string", 1}, {"Name", "string", 1}}},
		{eventsEventsGR, []column{{"Last Seen", "string", 0}, {"Type", "string", 0}, {"Reason", "string", 0}, {"Object", "string", 0}, {"Subobject", "string", 1},
			{"Source", "string", 1}, {"Message", "string", 0}, {"First Seen", "string", 1}, {"Count", "string", 1}, {"Name", "string", 1}}},
		{configMapsGR, []column{{"Name", "string", 0}, {"Data", "string", 0}, {"Age", "string", 0}}},
		{secretsGR, []column{{"Name", "string", 0}, {"Type", "string", 0}, {"Data", "string", 0}, {"Age", "string", 0}}},
		{serviceAccountGR, []column{{"Name", "string", 0}, {"Secrets", "string", 0}, {"Age", "string", 0}}},
		{replicaSetsGR, []column{{"Name", "string", 0}, {"Desired", "integer", 0}, {"Current", "integer", 0}, {"Ready", "integer", 0}, {"Age", "string", 0},
			{"Containers", "string", 1}, {"Images", "string", 1}, {"Selector", "string", 1}}},
		{deploymentsGR, []column{{"Name", "string", 0}, {"Ready", "string", 0}, {"Up-to-date", "string", 0}, {"Available", "string", 0}, {"Age", "string", 0},
			{"Containers", "string", 1}, {"Images", "string", 1}, {"Selector", "string", 1}}},
		{daemonSetsGR, []column{{"Name", "string", 0}, {"Desired", "integer", 0}, {"Current", "integer", 0}, {"Ready", "integer", 0}, {"Up-to-date", "integer", 0},
			{"Available", "integer", 0}, {"Node Selector", "string", 0}, {"Age", "string", 0}, {"Containers", "string", 1}, {"Images", "string", 1}, {"Selector", "string", 1}}},
		{statefulSetsGR, []column{{"Name", "string", 0}, {"Ready", "string", 0}, {"Age", "string", 0}, {"Containers", "string", 1}, {"Images", "string", 1}}},
		{pvcsGR, []column{{"Name", "string", 0}, {"Status", "string", 0}, {"Volume", "string", 0}, {"Capacity", "string", 0}, {"Access Modes", "string", 0},
			{"StorageClass", "string", 0}, {"VolumeAttributesClass", "string", 0}, {"Age", "string", 0}, {"VolumeMode", "string", 1}}},
		{pvsGR, []column{{"Name", "string", 0}, {"Capacity", "string", 0}, {"Access Modes", "string", 0}, {"Reclaim Policy", "string", 0}, {"Status", "string", 0},
			{"Claim", "string", 0}, {"StorageClass", "string", 0}, {"VolumeAttributesClass", "string", 0}, {"Reason", "string", 0}, {"Age", "string", 0}, {"VolumeMode", "string", 1}}},
		{controllerRevisionsGR, []column{{"Name", "string", 0}, {"Controller", "string", 0}, {"Revision", "string", 0}, {"Age", "string", 0}}},
		{leasesGR, []column{{"Name", "string", 0}, {"Holder", "string", 0}, {"Age", "string", 0}}},
		{endpointSlicesGR, []column{{"Name", "string", 0}, {"AddressType", "string", 0}, {"Ports", "string", 0}, {"Endpoints", "string", 0}, {"Age", "string", 0}}},
		{csrGR, []column{{"Name", "string", 0}, {"Age", "string", 0}, {"SignerName", "string", 0}, {"Requestor", "string", 0}, {"RequestedDuration", "string", 0}, {"Condition", "string", 0}}},
		{rolesGR, []column{{"Name", "string", 0}, {"Created At", "date", 0}}},
		{clusterRolesGR, []column{{"Name", "string", 0}, {"Created At", "date", 0}}},
		{roleBindingsGR, []column{{"Name", "string", 0}, {"Role", "string", 0}, {"Age", "string", 0}, {"Users", "string", 1}, {"Groups", "string", 1}, {"ServiceAccounts", "string", 1}}},
		{clusterRoleBindingsGR, []column{{"Name", "string", 0}, {"Role", "string", 0}, {"Age", "string", 0}, {"Users", "string", 1}, {"Groups", "string", 1}, {"ServiceAccounts", "string", 1}}},
		{core("resourcequotas"), []column{{"Name", "string", 0}, {"Age", "string", 0}, {"Request", "string", 0}, {"Limit", "string", 0}}},
		{core("limitranges"), []column{{"Name", "string", 0}, {"Created At", "date", 0}}},
		{jobsGR, []column{{"Name", "string", 0}, {"Status", "string", 0}, {"Completions", "string", 0}, {"Duration", "string", 0}, {"Age", "string", 0},
			{"Containers", "string", 1}, {"Images", "string", 1}, {"Selector", "string", 1}}},
		{cronJobsGR, []column{{"Name", "string", 0}, {"Schedule", "string", 0}, {"Timezone", "string", 0}, {"Suspend", "boolean", 0}, {"Active", "integer", 0},
			{"Last Schedule", "string", 0}, {"Age", "string", 0}, {"Containers", "string", 1}, {"Images", "string", 1}, {"Selector", "string", 1}}},
		{core("replicationcontrollers"), []column{{"Name", "string", 0}, {"Desired", "integer", 0}, {"Current", "integer", 0}, {"Ready", "integer", 0}, {"Age", "string", 0},
			{"Containers", "string", 1}, {"Images", "string", 1}, {"Selector", "string", 1}}},
		{core("podtemplates"), []column{{"Name", "string", 0}, {"Containers", "string", 0}, {"Images", "string", 0}, {"Pod Labels", "string", 0}}},
		{priorityClassesGR, []column{{"Name", "string", 0}, {"Value", "integer", 0}, {"Global-Default", "boolean", 0}, {"Age", "string", 0}, {"PreemptionPolicy", "string", 0}}},
		{runtimeClassesGR, []column{{"Name", "string", 0}, {"Handler", "string", 0}, {"Age", "string", 0}}},
		{pdbGR, []column{{"Name", "string", 0}, {"Min Available", "string", 0}, {"Max Unavailable", "string", 0}, {"Allowed Disruptions", "integer", 0}, {"Age", "string", 0}}},
		{storageGR("storageclasses"), []column{{"Name", "string", 0}, {"Provisioner", "string", 0}, {"ReclaimPolicy", "string", 0}, {"VolumeBindingMode", "string", 0},
			{"AllowVolumeExpansion", "string", 0}, {"Age", "string", 0}}},
		{storageGR("volumeattributesclasses"), []column{{"Name", "string", 0}, {"DriverName", "string", 0}, {"Age", "string", 0}}},
		{storageGR("volumeattachments"), []column{{"Name", "string", 0}, {"Attacher", "string", 0}, {"PV", "string", 0}, {"Node", "string", 0}, {"Attached", "boolean", 0}, {"Age", "string", 0}}},
		{storageGR("csinodes"), []column{{"Name", "string", 0}, {"Drivers", "integer", 0}, {"Age", "string", 0}}},
		{storageGR("csidrivers"), []column{{"Name", "string", 0}, {"AttachRequired", "boolean", 0}, {"PodInfoOnMount", "boolean", 0}, {"StorageCapacity", "boolean", 0},
			{"TokenRequests", "string", 0}, {"RequiresRepublish", "boolean", 0}, {"Modes", "string", 0}, {"Age", "string", 0}}},
		{storageGR("csistoragecapacities"), []column{{"Name", "string", 0}, {"StorageClassName", "string", 0}, {"Capacity", "string", 0}}},
		{networkingGR("ingresses"), []column{{"Name", "string", 0}, {"Class", "string", 0}, {"Hosts", "string", 0}, {"Address", "string", 0}, {"Ports", "string", 0}, {"Age", "string", 0}}},
		{networkingGR("ingressclasses"), []column{{"Name", "string", 0}, {"Controller", "string", 0}, {"Parameters", "string", 0}, {"Age", "string", 0}}},
		{networkingGR("networkpolicies"), []column{{"Name", "string", 0}, {"Pod-Selector", "string", 0}, {"Age", "string", 0}}},
		{hpaGR, []column{{"Name", "string", 0}, {"Reference", "string", 0}, {"Targets", "string", 0}, {"MinPods", "string", 0},
			{"MaxPods", "string", 0}, {"Replicas", "string", 0}, {"Age", "string", 0}}},
		{flowSchemasGR, []column{{"Name", "string", 0}, {"PriorityLevel", "string", 0}, {"MatchingPrecedence", "string", 0}, {"DistinguisherMethod", "string", 0},
			{"Age", "string", 0}, {"MissingPL", "string", 0}}},
		{priorityLevelsGR, []column{{"Name", "string", 0}, {"Type", "string", 0}, {"NominalConcurrencyShares", "string", 0}, {"Queues", "string", 0},
			{"HandSize", "string", 0}, {"QueueLengthLimit", "string", 0}, {"Age", "string", 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.gr.String(), func(t *testing.T) {
			c, ok := ForResource(tt.gr).(*tableConvertor)
			if !ok {
				t.Fatalf("ForResource(%s) = %T", tt.gr, ForResource(tt.gr))
			}
			var got []column
			for _, d := range c.columns {
				got = append(got, column{d.Name, d.Type, d.Priority})
				if d.Description == "" {
					t.Errorf("column %q has no description", d.Name)
				}
				wantFormat := ""
				// Upstream formats VolumeAttachments' Attacher as a name too.
				if d.Name == "Name" || d.Name == "Attacher" {
					wantFormat = "name"
				}
				if d.Format != wantFormat {
					t.Errorf("column %q format = %q, want %q", d.Name, d.Format, wantFormat)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("columns\n got: %v\nwant: %v", got, tt.want)
			}
		})
	}
	if n := len(convertors); n != len(tests)+len(columnsTestedElsewhere) {
		t.Errorf("%d resources registered, %d tested", n, len(tests)+len(columnsTestedElsewhere))
	}
}

func TestForResourceUnknown(t *testing.T) {
	for _, gr := range []schema.GroupResource{
		{Resource: "persistentvolumes/status"},
		{Resource: "pods/status"},
		{Group: "apps", Resource: "statefulsets/status"},
		{Group: "extensions", Resource: "deployments"},
		{Group: "apps", Resource: "pods"},
		{Group: "coordination.k8s.io", Resource: "leasecandidates"},
	} {
		if c := ForResource(gr); c != nil {
			t.Errorf("ForResource(%s) = %T, want nil", gr, c)
		}
	}
}

// emptyLists holds an empty list of every printed resource.
var emptyLists = map[schema.GroupResource]runtime.Object{
	podsGR:                               &corev1.PodList{},
	nodesGR:                              &corev1.NodeList{},
	namespacesGR:                         &corev1.NamespaceList{},
	servicesGR:                           &corev1.ServiceList{},
	endpointsGR:                          &corev1.EndpointsList{},
	coreEventsGR:                         &corev1.EventList{},
	configMapsGR:                         &corev1.ConfigMapList{},
	secretsGR:                            &corev1.SecretList{},
	serviceAccountGR:                     &corev1.ServiceAccountList{},
	replicaSetsGR:                        &appsv1.ReplicaSetList{},
	deploymentsGR:                        &appsv1.DeploymentList{},
	daemonSetsGR:                         &appsv1.DaemonSetList{},
	controllerRevisionsGR:                &appsv1.ControllerRevisionList{},
	leasesGR:                             &coordinationv1.LeaseList{},
	endpointSlicesGR:                     &discoveryv1.EndpointSliceList{},
	eventsEventsGR:                       &eventsv1.EventList{},
	csrGR:                                &certificatesv1.CertificateSigningRequestList{},
	rolesGR:                              &rbacv1.RoleList{},
	clusterRolesGR:                       &rbacv1.ClusterRoleList{},
	roleBindingsGR:                       &rbacv1.RoleBindingList{},
	clusterRoleBindingsGR:                &rbacv1.ClusterRoleBindingList{},
	core("resourcequotas"):               &corev1.ResourceQuotaList{},
	core("limitranges"):                  &corev1.LimitRangeList{},
	jobsGR:                               &batchv1.JobList{},
	cronJobsGR:                           &batchv1.CronJobList{},
	core("replicationcontrollers"):       &corev1.ReplicationControllerList{},
	core("podtemplates"):                 &corev1.PodTemplateList{},
	priorityClassesGR:                    &schedulingv1.PriorityClassList{},
	runtimeClassesGR:                     &nodev1.RuntimeClassList{},
	pdbGR:                                &policyv1.PodDisruptionBudgetList{},
	statefulSetsGR:                       &appsv1.StatefulSetList{},
	pvcsGR:                               &corev1.PersistentVolumeClaimList{},
	pvsGR:                                &corev1.PersistentVolumeList{},
	storageGR("storageclasses"):          &storagev1.StorageClassList{},
	storageGR("volumeattributesclasses"): &storagev1.VolumeAttributesClassList{},
	storageGR("volumeattachments"):       &storagev1.VolumeAttachmentList{},
	storageGR("csinodes"):                &storagev1.CSINodeList{},
	storageGR("csidrivers"):              &storagev1.CSIDriverList{},
	storageGR("csistoragecapacities"):    &storagev1.CSIStorageCapacityList{},
	networkingGR("ingresses"):            &networkingv1.IngressList{},
	networkingGR("ingressclasses"):       &networkingv1.IngressClassList{},
	networkingGR("networkpolicies"):      &networkingv1.NetworkPolicyList{},
	hpaGR:                                &autoscalingv2.HorizontalPodAutoscalerList{},
	flowSchemasGR:                        &flowcontrolv1.FlowSchemaList{},
	priorityLevelsGR:                     &flowcontrolv1.PriorityLevelConfigurationList{},
}

// zeroObjects holds a zero-valued object of every printed resource.
var zeroObjects = map[schema.GroupResource]runtime.Object{
	podsGR:                               &corev1.Pod{},
	nodesGR:                              &corev1.Node{},
	namespacesGR:                         &corev1.Namespace{},
	servicesGR:                           &corev1.Service{},
	endpointsGR:                          &corev1.Endpoints{},
	coreEventsGR:                         &corev1.Event{},
	configMapsGR:                         &corev1.ConfigMap{},
	secretsGR:                            &corev1.Secret{},
	serviceAccountGR:                     &corev1.ServiceAccount{},
	replicaSetsGR:                        &appsv1.ReplicaSet{},
	deploymentsGR:                        &appsv1.Deployment{},
	daemonSetsGR:                         &appsv1.DaemonSet{},
	controllerRevisionsGR:                &appsv1.ControllerRevision{},
	leasesGR:                             &coordinationv1.Lease{},
	endpointSlicesGR:                     &discoveryv1.EndpointSlice{},
	eventsEventsGR:                       &eventsv1.Event{},
	csrGR:                                &certificatesv1.CertificateSigningRequest{},
	rolesGR:                              &rbacv1.Role{},
	clusterRolesGR:                       &rbacv1.ClusterRole{},
	roleBindingsGR:                       &rbacv1.RoleBinding{},
	clusterRoleBindingsGR:                &rbacv1.ClusterRoleBinding{},
	core("resourcequotas"):               &corev1.ResourceQuota{},
	core("limitranges"):                  &corev1.LimitRange{},
	jobsGR:                               &batchv1.Job{},
	cronJobsGR:                           &batchv1.CronJob{},
	core("replicationcontrollers"):       &corev1.ReplicationController{},
	core("podtemplates"):                 &corev1.PodTemplate{},
	priorityClassesGR:                    &schedulingv1.PriorityClass{},
	runtimeClassesGR:                     &nodev1.RuntimeClass{},
	pdbGR:                                &policyv1.PodDisruptionBudget{},
	statefulSetsGR:                       &appsv1.StatefulSet{},
	pvcsGR:                               &corev1.PersistentVolumeClaim{},
	pvsGR:                                &corev1.PersistentVolume{},
	storageGR("storageclasses"):          &storagev1.StorageClass{},
	storageGR("volumeattributesclasses"): &storagev1.VolumeAttributesClass{},
	storageGR("volumeattachments"):       &storagev1.VolumeAttachment{},
	storageGR("csinodes"):                &storagev1.CSINode{},
	storageGR("csidrivers"):              &storagev1.CSIDriver{},
	storageGR("csistoragecapacities"):    &storagev1.CSIStorageCapacity{},
	networkingGR("ingresses"):            &networkingv1.Ingress{},
	networkingGR("ingressclasses"):       &networkingv1.IngressClass{},
	networkingGR("networkpolicies"):      &networkingv1.NetworkPolicy{},
	hpaGR:                                &autoscalingv2.HorizontalPodAutoscaler{},
	flowSchemasGR:                        &flowcontrolv1.FlowSchema{},
	priorityLevelsGR:                     &flowcontrolv1.PriorityLevelConfiguration{},
}

func TestEmptyLists(t *testing.T) {
	if len(emptyLists) != len(convertors) {
		t.Fatalf("%d empty lists for %d resources", len(emptyLists), len(convertors))
	}
	for gr, list := range emptyLists {
		t.Run(gr.String(), func(t *testing.T) {
			table := convert(t, gr, list)
			if len(table.Rows) != 0 {
				t.Errorf("got %d rows", len(table.Rows))
			}
			if len(table.ColumnDefinitions) == 0 {
				t.Errorf("no column definitions")
			}
		})
	}
}

func TestZeroObjects(t *testing.T) {
	for gr, obj := range zeroObjects {
		t.Run(gr.String(), func(t *testing.T) {
			rowCells(t, gr, obj)
		})
	}
}

func TestListRowsAndMetadata(t *testing.T) {
	list := &corev1.PodList{
		ListMeta: metav1.ListMeta{ResourceVersion: "42", Continue: "next-token", RemainingItemCount: ptrTo[int64](7)},
		Items: []corev1.Pod{
			{ObjectMeta: objMeta("a", time.Minute), Status: corev1.PodStatus{Phase: corev1.PodPending}},
			{ObjectMeta: objMeta("b", time.Hour), Status: corev1.PodStatus{Phase: corev1.PodSucceeded}},
		},
	}
	table := convert(t, podsGR, list)
	if table.ResourceVersion != "42" || table.Continue != "next-token" || table.RemainingItemCount == nil || *table.RemainingItemCount != 7 {
		t.Errorf("list meta = %+v", table.ListMeta)
	}
	if len(table.Rows) != 2 {
		t.Fatalf("got %d rows", len(table.Rows))
	}
	for i := range list.Items {
		if table.Rows[i].Object.Object != &list.Items[i] {
			t.Errorf("row %d object is not the list item", i)
		}
		if table.Rows[i].Cells[0] != list.Items[i].Name {
			t.Errorf("row %d name = %v", i, table.Rows[i].Cells[0])
		}
	}
	if table.Rows[0].Conditions != nil {
		t.Errorf("pending pod has conditions %v", table.Rows[0].Conditions)
	}
	if !reflect.DeepEqual(table.Rows[1].Conditions, podSuccessConditions) {
		t.Errorf("succeeded pod conditions = %v", table.Rows[1].Conditions)
	}
}

func TestSingleObjectResourceVersion(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x", ResourceVersion: "9"}}
	table := convert(t, namespacesGR, ns)
	if table.ResourceVersion != "9" || table.Continue != "" || table.RemainingItemCount != nil {
		t.Errorf("list meta = %+v", table.ListMeta)
	}
}

func TestTableOptions(t *testing.T) {
	c := ForResource(namespacesGR)
	ns := &corev1.Namespace{ObjectMeta: objMeta("x", time.Minute)}

	table, err := c.ConvertToTable(context.Background(), ns, &metav1.TableOptions{NoHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	if table.ColumnDefinitions != nil {
		t.Errorf("NoHeaders: got columns %v", table.ColumnDefinitions)
	}
	if len(table.Rows) != 1 {
		t.Errorf("NoHeaders: got %d rows", len(table.Rows))
	}

	for _, opts := range []runtime.Object{nil, (*metav1.TableOptions)(nil)} {
		table, err = c.ConvertToTable(context.Background(), ns, opts)
		if err != nil {
			t.Fatalf("options %#v: %v", opts, err)
		}
		if len(table.ColumnDefinitions) != 3 {
			t.Errorf("options %#v: got %d columns", opts, len(table.ColumnDefinitions))
		}
	}

	if _, err := c.ConvertToTable(context.Background(), ns, &metav1.ListOptions{}); err == nil ||
		!strings.Contains(err.Error(), "unrecognized type") {
		t.Errorf("ListOptions: err = %v", err)
	}
}

func TestColumnsAreCopied(t *testing.T) {
	table := convert(t, namespacesGR, &corev1.Namespace{})
	table.ColumnDefinitions[0].Name = "mutated"
	if again := convert(t, namespacesGR, &corev1.Namespace{}); again.ColumnDefinitions[0].Name != "Name" {
		t.Errorf("a caller's change leaked into the shared columns")
	}
}

func TestWrongType(t *testing.T) {
	for _, obj := range []runtime.Object{&corev1.Node{}, &corev1.NodeList{}, (*corev1.Pod)(nil), &metav1.Status{}} {
		if _, err := ForResource(podsGR).ConvertToTable(context.Background(), obj, nil); err == nil {
			t.Errorf("%T: expected an error", obj)
		}
	}
}

func TestAge(t *testing.T) {
	tests := []struct {
		ts   metav1.Time
		want string
	}{
		{metav1.Time{}, "<unknown>"},
		{ago(30 * time.Second), "30s"},
		{ago(5 * time.Minute), "5m"},
		{ago(5*time.Minute + 30*time.Second), "5m30s"},
		{ago(3 * time.Hour), "3h"},
		{ago(50 * time.Hour), "2d2h"},
		{ago(400 * 24 * time.Hour), "400d"},
	}
	for _, tt := range tests {
		if got := translateTimestampSince(tt.ts); got != tt.want {
			t.Errorf("translateTimestampSince(%v) = %q, want %q", tt.ts, got, tt.want)
		}
	}
	if got := translateMicroTimestampSince(metav1.MicroTime{}); got != "<unknown>" {
		t.Errorf("zero MicroTime = %q", got)
	}
}
