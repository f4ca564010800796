package printers

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func template(cs ...corev1.Container) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: cs}}
}

func TestDeploymentRows(t *testing.T) {
	tests := []struct {
		name string
		d    appsv1.Deployment
		want []any
	}{
		{
			name: "2/3",
			d: appsv1.Deployment{
				ObjectMeta: objMeta("web", 5*time.Minute),
				Spec: appsv1.DeploymentSpec{
					Replicas: ptrTo[int32](3),
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
					Template: template(corev1.Container{Name: "nginx", Image: "nginx:1.27"}, corev1.Container{Name: "proxy", Image: "envoy:1.30"}),
				},
				Status: appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2},
			},
			want: []any{"web", "2/3", int64(3), int64(2), "5m", "nginx,proxy", "nginx:1.27,envoy:1.30", "app=web"},
		},
		{
			name: "scaled to zero, expression selector",
			d: appsv1.Deployment{
				ObjectMeta: objMeta("idle", 3*time.Hour),
				Spec: appsv1.DeploymentSpec{
					Replicas: ptrTo[int32](0),
					Selector: &metav1.LabelSelector{
						MatchLabels:      map[string]string{"app": "idle"},
						MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}}},
					},
					Template: template(corev1.Container{Name: "app", Image: "app:v1"}),
				},
			},
			want: []any{"idle", "0/0", int64(0), int64(0), "3h", "app", "app:v1", "app=idle,tier in (a,b)"},
		},
		{
			name: "replicas unset defaults to 1, invalid selector",
			d: appsv1.Deployment{
				ObjectMeta: objMeta("bad", time.Minute),
				Spec: appsv1.DeploymentSpec{
					Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x", Operator: "Bogus"}}},
				},
				Status: appsv1.DeploymentStatus{ReadyReplicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1},
			},
			want: []any{"bad", "1/1", int64(1), int64(1), "60s", "", "", "<invalid>"},
		},
		{
			name: "nil selector",
			d:    appsv1.Deployment{ObjectMeta: objMeta("nosel", time.Minute), Spec: appsv1.DeploymentSpec{Replicas: ptrTo[int32](2)}},
			want: []any{"nosel", "0/2", int64(0), int64(0), "60s", "", "", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCells(t, rowCells(t, deploymentsGR, &tt.d), tt.want)
		})
	}
}

func TestReplicaSetRows(t *testing.T) {
	tests := []struct {
		name string
		rs   appsv1.ReplicaSet
		want []any
	}{
		{
			name: "partially ready",
			rs: appsv1.ReplicaSet{
				ObjectMeta: objMeta("web-6d4cf56db6", 20*time.Minute),
				Spec: appsv1.ReplicaSetSpec{
					Replicas: ptrTo[int32](3),
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "pod-template-hash": "6d4cf56db6"}},
					Template: template(corev1.Container{Name: "nginx", Image: "nginx:1.27"}),
				},
				Status: appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 1},
			},
			want: []any{"web-6d4cf56db6", int64(3), int64(3), int64(1), "20m", "nginx", "nginx:1.27", "app=web,pod-template-hash=6d4cf56db6"},
		},
		{
			name: "old, scaled down, empty selector",
			rs: appsv1.ReplicaSet{
				ObjectMeta: objMeta("old", 9*24*time.Hour),
				Spec:       appsv1.ReplicaSetSpec{Replicas: ptrTo[int32](0), Selector: &metav1.LabelSelector{}},
			},
			want: []any{"old", int64(0), int64(0), int64(0), "9d", "", "", "<none>"},
		},
		{
			name: "replicas unset, nil selector",
			rs:   appsv1.ReplicaSet{ObjectMeta: objMeta("unset", time.Minute)},
			want: []any{"unset", int64(1), int64(0), int64(0), "60s", "", "", "<none>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCells(t, rowCells(t, replicaSetsGR, &tt.rs), tt.want)
		})
	}
}

func TestDeploymentList(t *testing.T) {
	list := &appsv1.DeploymentList{
		ListMeta: metav1.ListMeta{ResourceVersion: "100"},
		Items: []appsv1.Deployment{
			{ObjectMeta: objMeta("a", time.Minute), Spec: appsv1.DeploymentSpec{Replicas: ptrTo[int32](1)}, Status: appsv1.DeploymentStatus{ReadyReplicas: 1}},
			{ObjectMeta: objMeta("b", time.Minute), Spec: appsv1.DeploymentSpec{Replicas: ptrTo[int32](2)}},
		},
	}
	table := convert(t, deploymentsGR, list)
	if table.ResourceVersion != "100" || len(table.Rows) != 2 {
		t.Fatalf("table = %+v", table)
	}
	if table.Rows[0].Cells[1] != "1/1" || table.Rows[1].Cells[1] != "0/2" {
		t.Errorf("ready cells = %v, %v", table.Rows[0].Cells[1], table.Rows[1].Cells[1])
	}
	if table.Rows[1].Object.Object != &list.Items[1] {
		t.Errorf("row object is not the list item")
	}
}

func TestDaemonSetRows(t *testing.T) {
	tests := []struct {
		name string
		ds   appsv1.DaemonSet
		want []any
	}{
		{
			name: "rolling out, node selector",
			ds: appsv1.DaemonSet{
				ObjectMeta: objMeta("fluentd", 5*time.Hour),
				Spec: appsv1.DaemonSetSpec{
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "fluentd"}},
					Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
						NodeSelector: map[string]string{"kubernetes.io/os": "linux", "disk": "ssd"},
						Containers:   []corev1.Container{{Name: "fluentd", Image: "fluentd:v2"}, {Name: "tail", Image: "busybox"}},
					}},
				},
				Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2, UpdatedNumberScheduled: 1, NumberAvailable: 2},
			},
			want: []any{"fluentd", int64(3), int64(3), int64(2), int64(1), int64(2), "disk=ssd,kubernetes.io/os=linux", "5h", "fluentd,tail", "fluentd:v2,busybox", "app=fluentd"},
		},
		{
			name: "no node selector, nil selector",
			ds:   appsv1.DaemonSet{ObjectMeta: objMeta("empty", time.Minute)},
			want: []any{"empty", int64(0), int64(0), int64(0), int64(0), int64(0), "<none>", "60s", "", "", "<none>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCells(t, rowCells(t, daemonSetsGR, &tt.ds), tt.want)
		})
	}
}

func TestStatefulSetRows(t *testing.T) {
	tests := []struct {
		name string
		ss   appsv1.StatefulSet
		want []any
	}{
		{
			name: "two of three ready",
			ss: appsv1.StatefulSet{
				ObjectMeta: objMeta("web", 3*time.Hour),
				Spec: appsv1.StatefulSetSpec{
					Replicas: ptrTo[int32](3),
					Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}, {Name: "log", Image: "busybox"}}}},
				},
				Status: appsv1.StatefulSetStatus{Replicas: 3, ReadyReplicas: 2},
			},
			want: []any{"web", "2/3", "3h", "nginx,log", "nginx:1.27,busybox"},
		},
		{
			name: "replicas unset",
			ss:   appsv1.StatefulSet{ObjectMeta: objMeta("empty", time.Minute)},
			want: []any{"empty", "0/1", "60s", "", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCells(t, rowCells(t, statefulSetsGR, &tt.ss), tt.want)
		})
	}
}

func TestControllerRevisionRows(t *testing.T) {
	owned := func(refs ...metav1.OwnerReference) metav1.ObjectMeta {
		m := objMeta("fluentd-5b4c6d7f8", 4*time.Minute)
		m.OwnerReferences = refs
		return m
	}
	isController := true
	tests := []struct {
		name string
		cr   appsv1.ControllerRevision
		want []any
	}{
		{
			name: "owned by a DaemonSet",
			cr: appsv1.ControllerRevision{ObjectMeta: owned(metav1.OwnerReference{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "fluentd", Controller: &isController}),
				Revision: 3},
			want: []any{"fluentd-5b4c6d7f8", "daemonset.apps/fluentd", int64(3), "4m"},
		},
		{
			name: "core kind",
			cr:   appsv1.ControllerRevision{ObjectMeta: owned(metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: "p", Controller: &isController}), Revision: 1},
			want: []any{"fluentd-5b4c6d7f8", "pod/p", int64(1), "4m"},
		},
		{
			name: "owner that is not the controller",
			cr:   appsv1.ControllerRevision{ObjectMeta: owned(metav1.OwnerReference{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "fluentd"}), Revision: 2},
			want: []any{"fluentd-5b4c6d7f8", "<none>", int64(2), "4m"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCells(t, rowCells(t, controllerRevisionsGR, &tt.cr), tt.want)
		})
	}
}
