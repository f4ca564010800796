package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestStorageClass(t *testing.T) {
	class := func(mutate func(*storagev1.StorageClass)) *storagev1.StorageClass {
		sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast", ResourceVersion: "1"}, Provisioner: "skiff.dev/local-path",
			Parameters: map[string]string{"dir": "/var/lib/skiff/volumes"}}
		mutate(sc)
		return defaulted(sc)
	}
	same := func(*storagev1.StorageClass) {}
	for _, tc := range []struct {
		name      string
		obj, old  *storagev1.StorageClass
		create    []want
		updateErr []want
	}{
		{"valid; allowVolumeExpansion and annotations may change", class(same), class(func(sc *storagev1.StorageClass) {
			sc.AllowVolumeExpansion = ptr(true)
			sc.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
		}), nil, nil},
		{"no provisioner", class(func(sc *storagev1.StorageClass) { sc.Provisioner = "" }), nil, []want{{"provisioner", field.ErrorTypeRequired, ""}}, nil},
		{"provisioner not a qualified name", class(func(sc *storagev1.StorageClass) { sc.Provisioner = "a/b/c" }), nil,
			[]want{{"provisioner", field.ErrorTypeInvalid, "with an optional DNS subdomain prefix"}}, nil},
		{"upper-case provisioner is fine", class(func(sc *storagev1.StorageClass) { sc.Provisioner = "Example.COM/Disk" }), nil, nil, nil},
		{"parameters too large", class(func(sc *storagev1.StorageClass) {
			sc.Parameters = map[string]string{"k": strings.Repeat("x", 256*1024)}
		}), nil,
			[]want{{"parameters", field.ErrorTypeTooLong, ""}}, nil},
		{"empty parameter key", class(func(sc *storagev1.StorageClass) { sc.Parameters = map[string]string{"": "v"} }), nil,
			[]want{{"parameters", field.ErrorTypeInvalid, "field can not be empty."}}, nil},
		{"reclaim policy Recycle", class(func(sc *storagev1.StorageClass) { sc.ReclaimPolicy = ptr(corev1.PersistentVolumeReclaimRecycle) }), nil,
			[]want{{"reclaimPolicy", field.ErrorTypeNotSupported, `supported values: "Delete", "Retain"`}}, nil},
		{"unknown binding mode", class(func(sc *storagev1.StorageClass) { sc.VolumeBindingMode = ptr(storagev1.VolumeBindingMode("Later")) }), nil,
			[]want{{"volumeBindingMode", field.ErrorTypeNotSupported, `supported values: "Immediate", "WaitForFirstConsumer"`}}, nil},
		{"bad name", class(func(sc *storagev1.StorageClass) { sc.Name = "Fast" }), nil, []want{{"metadata.name", field.ErrorTypeInvalid, ""}}, nil},
		{"topologies: no values, duplicate terms", class(func(sc *storagev1.StorageClass) {
			term := corev1.TopologySelectorTerm{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: "zone", Values: []string{"a"}}}}
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{term, term,
				{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: "rack"}}}}
		}), nil, []want{{"allowedTopologies[1].matchLabelExpressions", field.ErrorTypeDuplicate, ""},
			{"allowedTopologies[2].matchLabelExpressions[0].values", field.ErrorTypeRequired, ""}}, nil},
		{"immutable fields", class(func(sc *storagev1.StorageClass) {
			sc.Provisioner, sc.Parameters = "example.com/other", nil
			sc.ReclaimPolicy, sc.VolumeBindingMode = ptr(corev1.PersistentVolumeReclaimRetain), ptr(storagev1.VolumeBindingWaitForFirstConsumer)
		}), class(same), nil, []want{{"parameters", field.ErrorTypeInvalid, "field is immutable"}, {"provisioner", field.ErrorTypeInvalid, "field is immutable"},
			{"reclaimPolicy", field.ErrorTypeInvalid, "field is immutable"}, {"volumeBindingMode", field.ErrorTypeInvalid, "field is immutable"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.create)
			if tc.old != nil {
				checkErrs(t, ValidateUpdate(tc.obj, tc.old), tc.updateErr)
			}
		})
	}
}

func TestCSIKinds(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "csi.example.com", ResourceVersion: "1"}
	driver := func(mutate func(*storagev1.CSIDriver)) *storagev1.CSIDriver {
		d := &storagev1.CSIDriver{ObjectMeta: meta}
		mutate(d)
		return defaulted(d)
	}
	node := func(drivers ...storagev1.CSINodeDriver) *storagev1.CSINode {
		return &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{Name: "node-1", ResourceVersion: "1"}, Spec: storagev1.CSINodeSpec{Drivers: drivers}}
	}
	pv := "pv-1"
	attachment := func(mutate func(*storagev1.VolumeAttachment)) *storagev1.VolumeAttachment {
		va := &storagev1.VolumeAttachment{ObjectMeta: metav1.ObjectMeta{Name: "csi-1", ResourceVersion: "1"}, Spec: storagev1.VolumeAttachmentSpec{
			Attacher: "csi.example.com", NodeName: "node-1", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: &pv}}}
		mutate(va)
		return va
	}
	ten := resource.MustParse("10Gi")
	capacity := func(mutate func(*storagev1.CSIStorageCapacity)) *storagev1.CSIStorageCapacity {
		c := &storagev1.CSIStorageCapacity{ObjectMeta: metav1.ObjectMeta{Name: "cap", Namespace: "kube-system", ResourceVersion: "1"},
			StorageClassName: "local-path", Capacity: &ten}
		mutate(c)
		return c
	}
	for _, tc := range []struct {
		name      string
		obj, old  runtime.Object
		create    []want
		updateErr []want
	}{
		{"driver: defaulted is valid", driver(func(*storagev1.CSIDriver) {}), nil, nil, nil},
		{"driver: attachRequired is immutable", driver(func(d *storagev1.CSIDriver) { d.Spec.AttachRequired = ptr(false) }), driver(func(*storagev1.CSIDriver) {}),
			nil, []want{{"spec.attachedRequired", field.ErrorTypeInvalid, "field is immutable"}}},
		{"driver: bad policy, short token, period", driver(func(d *storagev1.CSIDriver) {
			d.Spec.FSGroupPolicy = ptr(storagev1.FSGroupPolicy("Sometimes"))
			d.Spec.TokenRequests = []storagev1.TokenRequest{{Audience: "a", ExpirationSeconds: ptr(int64(60))}}
			d.Spec.NodeAllocatableUpdatePeriodSeconds = ptr(int64(5))
		}), nil, []want{{"spec.fsGroupPolicy", field.ErrorTypeNotSupported, ""},
			{"spec.tokenRequests[0].expirationSeconds", field.ErrorTypeInvalid, "may not specify a duration less than 10 minutes"},
			{"spec.nodeAllocatableUpdatePeriodSeconds", field.ErrorTypeInvalid, "must be greater than or equal to 10 seconds"}}, nil},
		{"node: valid", node(storagev1.CSINodeDriver{Name: "csi.example.com", NodeID: "n1", TopologyKeys: []string{"topology.kubernetes.io/zone"}}), nil, nil, nil},
		{"node: duplicate driver, no node ID", node(storagev1.CSINodeDriver{Name: "csi.example.com", NodeID: "n1"}, storagev1.CSINodeDriver{Name: "csi.example.com"}),
			nil, []want{{"spec.drivers[1].name", field.ErrorTypeDuplicate, ""}, {"spec.drivers[1].nodeID", field.ErrorTypeRequired, ""}}, nil},
		{"node: allocatable may change, the node ID may not", node(storagev1.CSINodeDriver{Name: "csi.example.com", NodeID: "n2",
			Allocatable: &storagev1.VolumeNodeResources{Count: ptr(int32(3))}}), node(storagev1.CSINodeDriver{Name: "csi.example.com", NodeID: "n1"}),
			nil, []want{{"spec.drivers", field.ErrorTypeInvalid, "field is immutable"}}},
		{"attachment: valid", attachment(func(*storagev1.VolumeAttachment) {}), nil, nil, nil},
		{"attachment: no source, no attacher", attachment(func(va *storagev1.VolumeAttachment) { va.Spec.Source.PersistentVolumeName, va.Spec.Attacher = nil, "" }),
			nil, []want{{"spec.attacher", field.ErrorTypeRequired, ""},
				{"spec.source", field.ErrorTypeRequired, "must specify exactly one of inlineVolumeSpec and persistentVolumeName"}}, nil},
		{"attachment: an inline spec is a CSI volume only", attachment(func(va *storagev1.VolumeAttachment) {
			va.Spec.Source.PersistentVolumeName = nil
			va.Spec.Source.InlineVolumeSpec = &corev1.PersistentVolumeSpec{Capacity: corev1.ResourceList{corev1.ResourceStorage: ten},
				AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "csi.example.com"}}}
		}), nil, []want{{"spec.source.inlineVolumeSpec.capacity", field.ErrorTypeForbidden, "may not be specified in the context of inline volumes"},
			{"spec.source.inlineVolumeSpec.csi.volumeHandle", field.ErrorTypeRequired, ""}}, nil},
		{"attachment: spec is immutable", attachment(func(va *storagev1.VolumeAttachment) { va.Spec.NodeName = "node-2" }), attachment(func(*storagev1.VolumeAttachment) {}),
			nil, []want{{"spec", field.ErrorTypeInvalid, "field is immutable"}}},
		{"capacity: valid", capacity(func(*storagev1.CSIStorageCapacity) {}), nil, nil, nil},
		{"capacity: negative, no class", capacity(func(c *storagev1.CSIStorageCapacity) {
			c.StorageClassName, c.Capacity = "", ptr(resource.MustParse("-1"))
		}), nil, []want{{"storageClassName", field.ErrorTypeInvalid, ""}, {"capacity", field.ErrorTypeInvalid, "must be greater than or equal to 0"}}, nil},
		{"capacity: class is immutable", capacity(func(c *storagev1.CSIStorageCapacity) { c.StorageClassName = "other" }), capacity(func(*storagev1.CSIStorageCapacity) {}),
			nil, []want{{"storageClassName", field.ErrorTypeInvalid, "field is immutable"}}},
		{"attributes class: parameters are immutable", &storagev1.VolumeAttributesClass{ObjectMeta: meta, DriverName: "csi.example.com", Parameters: map[string]string{"iops": "2"}},
			&storagev1.VolumeAttributesClass{ObjectMeta: meta, DriverName: "csi.example.com", Parameters: map[string]string{"iops": "1"}},
			nil, []want{{"parameters", field.ErrorTypeForbidden, "updates to parameters are forbidden."}}},
		{"attributes class: parameters required", &storagev1.VolumeAttributesClass{ObjectMeta: meta, DriverName: "csi.example.com"}, nil,
			[]want{{"parameters", field.ErrorTypeRequired, "must contain at least one key/value pair"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.create)
			if tc.old != nil {
				checkErrs(t, ValidateUpdate(tc.obj, tc.old), tc.updateErr)
			}
		})
	}
}
