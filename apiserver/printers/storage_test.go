package printers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestStorageClassRows(t *testing.T) {
	retain, wait := corev1.PersistentVolumeReclaimRetain, storagev1.VolumeBindingWaitForFirstConsumer
	class := func(name string, age time.Duration, isDefault bool) storagev1.StorageClass {
		sc := storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: ago(age)}, Provisioner: "skiff.dev/local-path"}
		if isDefault {
			sc.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
		}
		return sc
	}
	set := class("fast", time.Hour, false)
	set.ReclaimPolicy, set.VolumeBindingMode, set.AllowVolumeExpansion = &retain, &wait, ptrTo(true)
	checkCells(t, rowCells(t, storageGR("storageclasses"), &set), []any{"fast", "skiff.dev/local-path", "Retain", "WaitForFirstConsumer", true, "60m"})
	unset := class("plain", time.Hour, true)
	// A single class never carries the suffix, as upstream prints it.
	checkCells(t, rowCells(t, storageGR("storageclasses"), &unset), []any{"plain", "skiff.dev/local-path", "Delete", "Immediate", false, "60m"})

	for _, tt := range []struct {
		name  string
		items []storagev1.StorageClass
		want  []string
	}{
		{"no default", []storagev1.StorageClass{class("a", time.Hour, false), class("b", time.Hour, false)}, []string{"a", "b"}},
		{"the newest default wins", []storagev1.StorageClass{class("old", 2*time.Hour, true), class("new", time.Hour, true), class("other", time.Minute, false)},
			[]string{"old", "new (default)", "other"}},
		{"same age: the first name", []storagev1.StorageClass{class("b", time.Hour, true), class("a", time.Hour, true)}, []string{"b", "a (default)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			table := convert(t, storageGR("storageclasses"), &storagev1.StorageClassList{Items: tt.items})
			var got []string
			for _, r := range table.Rows {
				got = append(got, r.Cells[0].(string))
			}
			checkCells(t, toAny(got), toAny(tt.want))
		})
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func TestCSIRows(t *testing.T) {
	pv := "pv-1"
	va := &storagev1.VolumeAttachment{ObjectMeta: objMeta("csi-123", time.Hour),
		Spec:   storagev1.VolumeAttachmentSpec{Attacher: "csi.example.com", NodeName: "node-1", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: &pv}},
		Status: storagev1.VolumeAttachmentStatus{Attached: true}}
	checkCells(t, rowCells(t, storageGR("volumeattachments"), va), []any{"csi-123", "csi.example.com", "pv-1", "node-1", true, "60m"})

	node := &storagev1.CSINode{ObjectMeta: objMeta("node-1", time.Hour), Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{Name: "a"}, {Name: "b"}}}}
	checkCells(t, rowCells(t, storageGR("csinodes"), node), []any{"node-1", int64(2), "60m"})

	bare := &storagev1.CSIDriver{ObjectMeta: objMeta("csi.example.com", time.Hour)}
	checkCells(t, rowCells(t, storageGR("csidrivers"), bare), []any{"csi.example.com", true, false, false, "<unset>", false, "<none>", "60m"})
	full := &storagev1.CSIDriver{ObjectMeta: objMeta("csi.example.com", time.Hour), Spec: storagev1.CSIDriverSpec{
		AttachRequired: ptrTo(false), PodInfoOnMount: ptrTo(true), StorageCapacity: ptrTo(true), RequiresRepublish: ptrTo(true),
		TokenRequests:        []storagev1.TokenRequest{{Audience: "a"}, {Audience: "b"}},
		VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent, storagev1.VolumeLifecycleEphemeral}}}
	checkCells(t, rowCells(t, storageGR("csidrivers"), full), []any{"csi.example.com", false, true, true, "a,b", true, "Persistent,Ephemeral", "60m"})

	capacity := resource.MustParse("10Gi")
	withCap := &storagev1.CSIStorageCapacity{ObjectMeta: objMeta("cap-1", time.Hour), StorageClassName: "local-path", Capacity: &capacity}
	checkCells(t, rowCells(t, storageGR("csistoragecapacities"), withCap), []any{"cap-1", "local-path", "10Gi"})
	noCap := &storagev1.CSIStorageCapacity{ObjectMeta: objMeta("cap-2", time.Hour), StorageClassName: "local-path"}
	checkCells(t, rowCells(t, storageGR("csistoragecapacities"), noCap), []any{"cap-2", "local-path", "<unset>"})

	vac := &storagev1.VolumeAttributesClass{ObjectMeta: objMeta("gold", time.Hour), DriverName: "csi.example.com"}
	checkCells(t, rowCells(t, storageGR("volumeattributesclasses"), vac), []any{"gold", "csi.example.com", "60m"})
}
