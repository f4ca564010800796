package printers

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-dev/skiff/apis/helper"
)

func storageGR(resource string) schema.GroupResource {
	return schema.GroupResource{Group: storagev1.GroupName, Resource: resource}
}

func init() {
	register(storageGR("storageclasses"), storageClassConvertor())
	register(storageGR("volumeattributesclasses"), newConvertor(volumeAttributesClassColumns,
		func(l *storagev1.VolumeAttributesClassList) []storagev1.VolumeAttributesClass { return l.Items }, printVolumeAttributesClass))
	register(storageGR("volumeattachments"), newConvertor(volumeAttachmentColumns,
		func(l *storagev1.VolumeAttachmentList) []storagev1.VolumeAttachment { return l.Items }, printVolumeAttachment))
	register(storageGR("csinodes"), newConvertor(csiNodeColumns,
		func(l *storagev1.CSINodeList) []storagev1.CSINode { return l.Items }, printCSINode))
	register(storageGR("csidrivers"), newConvertor(csiDriverColumns,
		func(l *storagev1.CSIDriverList) []storagev1.CSIDriver { return l.Items }, printCSIDriver))
	register(storageGR("csistoragecapacities"), newConvertor(csiStorageCapacityColumns,
		func(l *storagev1.CSIStorageCapacityList) []storagev1.CSIStorageCapacity { return l.Items }, printCSIStorageCapacity))
}

var storageClassColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Provisioner", Type: "string", Description: storagev1.StorageClass{}.SwaggerDoc()["provisioner"]},
	{Name: "ReclaimPolicy", Type: "string", Description: storagev1.StorageClass{}.SwaggerDoc()["reclaimPolicy"]},
	{Name: "VolumeBindingMode", Type: "string", Description: storagev1.StorageClass{}.SwaggerDoc()["volumeBindingMode"]},
	{Name: "AllowVolumeExpansion", Type: "string", Description: storagev1.StorageClass{}.SwaggerDoc()["allowVolumeExpansion"]},
	ageColumn,
}

// storageClassConvertor prints classes as upstream: in a list, the effective default class
// (helper.DefaultStorageClass) is named "<name> (default)"; a single class is printed without
// the suffix.
func storageClassConvertor() *tableConvertor {
	c := newConvertor(storageClassColumns, func(l *storagev1.StorageClassList) []storagev1.StorageClass { return l.Items }, printStorageClass)
	rows := c.rows
	c.rows = func(obj runtime.Object) ([]metav1.TableRow, bool) {
		out, ok := rows(obj)
		list, isList := obj.(*storagev1.StorageClassList)
		if !ok || !isList {
			return out, ok
		}
		classes := make([]*storagev1.StorageClass, len(list.Items))
		for i := range list.Items {
			classes[i] = &list.Items[i]
		}
		if def := helper.DefaultStorageClass(classes); def != nil {
			for i, sc := range classes {
				if sc == def {
					out[i].Cells[0] = sc.Name + " (default)"
				}
			}
		}
		return out, ok
	}
	return c
}

func printStorageClass(sc *storagev1.StorageClass) metav1.TableRow {
	reclaim, binding, expand := string(corev1.PersistentVolumeReclaimDelete), string(storagev1.VolumeBindingImmediate), false
	if sc.ReclaimPolicy != nil {
		reclaim = string(*sc.ReclaimPolicy)
	}
	if sc.VolumeBindingMode != nil {
		binding = string(*sc.VolumeBindingMode)
	}
	if sc.AllowVolumeExpansion != nil {
		expand = *sc.AllowVolumeExpansion
	}
	return cells(sc.Name, sc.Provisioner, reclaim, binding, expand, translateTimestampSince(sc.CreationTimestamp))
}

var volumeAttributesClassColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "DriverName", Type: "string", Description: storagev1.VolumeAttributesClass{}.SwaggerDoc()["driverName"]},
	ageColumn,
}

func printVolumeAttributesClass(vac *storagev1.VolumeAttributesClass) metav1.TableRow {
	return cells(vac.Name, vac.DriverName, translateTimestampSince(vac.CreationTimestamp))
}

var volumeAttachmentColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Attacher", Type: "string", Format: "name", Description: storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["attacher"]},
	{Name: "PV", Type: "string", Description: storagev1.VolumeAttachmentSource{}.SwaggerDoc()["persistentVolumeName"]},
	{Name: "Node", Type: "string", Description: storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["nodeName"]},
	{Name: "Attached", Type: "boolean", Description: storagev1.VolumeAttachmentStatus{}.SwaggerDoc()["attached"]},
	ageColumn,
}

func printVolumeAttachment(va *storagev1.VolumeAttachment) metav1.TableRow {
	pv := ""
	if va.Spec.Source.PersistentVolumeName != nil {
		pv = *va.Spec.Source.PersistentVolumeName
	}
	return cells(va.Name, va.Spec.Attacher, pv, va.Spec.NodeName, va.Status.Attached, translateTimestampSince(va.CreationTimestamp))
}

var csiNodeColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Drivers", Type: "integer", Description: "Drivers indicates the number of CSI drivers registered on the node"},
	ageColumn,
}

func printCSINode(n *storagev1.CSINode) metav1.TableRow {
	return cells(n.Name, int64(len(n.Spec.Drivers)), translateTimestampSince(n.CreationTimestamp))
}

var csiDriverColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "AttachRequired", Type: "boolean", Description: storagev1.CSIDriverSpec{}.SwaggerDoc()["attachRequired"]},
	{Name: "PodInfoOnMount", Type: "boolean", Description: storagev1.CSIDriverSpec{}.SwaggerDoc()["podInfoOnMount"]},
	{Name: "StorageCapacity", Type: "boolean", Description: storagev1.CSIDriverSpec{}.SwaggerDoc()["storageCapacity"]},
	{Name: "TokenRequests", Type: "string", Description: storagev1.CSIDriverSpec{}.SwaggerDoc()["tokenRequests"]},
	{Name: "RequiresRepublish", Type: "boolean", Description: storagev1.CSIDriverSpec{}.SwaggerDoc()["requiresRepublish"]},
	{Name: "Modes", Type: "string", Description: storagev1.CSIDriverSpec{}.SwaggerDoc()["volumeLifecycleModes"]},
	ageColumn,
}

// printCSIDriver is upstream's printCSIDriver: unset booleans print their defaults, token
// requests as their audiences ("<unset>" when none are set), modes as a list ("<none>").
func printCSIDriver(d *storagev1.CSIDriver) metav1.TableRow {
	boolOr := func(b *bool, def bool) bool {
		if b == nil {
			return def
		}
		return *b
	}
	var modes []string
	for _, m := range d.Spec.VolumeLifecycleModes {
		modes = append(modes, string(m))
	}
	modesCell := strings.Join(modes, ",")
	if modesCell == "" {
		modesCell = "<none>"
	}
	tokenRequests := "<unset>"
	if d.Spec.TokenRequests != nil {
		var audiences []string
		for _, t := range d.Spec.TokenRequests {
			audiences = append(audiences, t.Audience)
		}
		tokenRequests = strings.Join(audiences, ",")
	}
	return cells(d.Name, boolOr(d.Spec.AttachRequired, true), boolOr(d.Spec.PodInfoOnMount, false), boolOr(d.Spec.StorageCapacity, false),
		tokenRequests, boolOr(d.Spec.RequiresRepublish, false), modesCell, translateTimestampSince(d.CreationTimestamp))
}

var csiStorageCapacityColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "StorageClassName", Type: "string", Description: storagev1.CSIStorageCapacity{}.SwaggerDoc()["storageClassName"]},
	{Name: "Capacity", Type: "string", Description: storagev1.CSIStorageCapacity{}.SwaggerDoc()["capacity"]},
}

func printCSIStorageCapacity(c *storagev1.CSIStorageCapacity) metav1.TableRow {
	capacity := "<unset>"
	if c.Capacity != nil {
		capacity = c.Capacity.String()
	}
	return cells(c.Name, c.StorageClassName, capacity)
}
