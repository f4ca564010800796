package storage

import (
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

var gv = storagev1.SchemeGroupVersion

// StorageClassKind is storageclasses (cluster-scoped, `sc`).
var StorageClassKind = &registry.Kind{GroupVersion: gv, Resource: "storageclasses", Singular: "storageclass",
	ShortNames: []string{"sc"},
	New:        func() runtime.Object { return &storagev1.StorageClass{} },
	NewList:    func() runtime.Object { return &storagev1.StorageClassList{} }}

// VolumeAttributesClassKind is volumeattributesclasses (cluster-scoped, `vac`).
var VolumeAttributesClassKind = &registry.Kind{GroupVersion: gv, Resource: "volumeattributesclasses", Singular: "volumeattributesclass",
	ShortNames: []string{"vac"},
	New:        func() runtime.Object { return &storagev1.VolumeAttributesClass{} },
	NewList:    func() runtime.Object { return &storagev1.VolumeAttributesClassList{} }}

// CSIDriverKind is csidrivers (cluster-scoped).
var CSIDriverKind = &registry.Kind{GroupVersion: gv, Resource: "csidrivers", Singular: "csidriver",
	New:     func() runtime.Object { return &storagev1.CSIDriver{} },
	NewList: func() runtime.Object { return &storagev1.CSIDriverList{} }}

// CSINodeKind is csinodes (cluster-scoped, one per node, with status). Upstream drops
// status.storageHealth while the alpha CSIVolumeHealth gate is off, unless it is already set.
var CSINodeKind = &registry.Kind{GroupVersion: gv, Resource: "csinodes", Singular: "csinode", Status: true,
	New:     func() runtime.Object { return &storagev1.CSINode{} },
	NewList: func() runtime.Object { return &storagev1.CSINodeList{} },
	PrepareForStatusUpdate: func(obj, old runtime.Object) {
		if len(old.(*storagev1.CSINode).Status.StorageHealth) == 0 {
			obj.(*storagev1.CSINode).Status.StorageHealth = nil
		}
	}}

// VolumeAttachmentKind is volumeattachments (cluster-scoped, with status).
var VolumeAttachmentKind = &registry.Kind{GroupVersion: gv, Resource: "volumeattachments", Singular: "volumeattachment", Status: true,
	New:     func() runtime.Object { return &storagev1.VolumeAttachment{} },
	NewList: func() runtime.Object { return &storagev1.VolumeAttachmentList{} }}

// CSIStorageCapacityKind is csistoragecapacities (namespaced).
var CSIStorageCapacityKind = &registry.Kind{GroupVersion: gv, Resource: "csistoragecapacities", Singular: "csistoragecapacity", Namespaced: true,
	New:     func() runtime.Object { return &storagev1.CSIStorageCapacity{} },
	NewList: func() runtime.Object { return &storagev1.CSIStorageCapacityList{} }}

// Kinds are the kinds of storage.k8s.io/v1, in upstream's order.
var Kinds = []*registry.Kind{StorageClassKind, VolumeAttachmentKind, VolumeAttributesClassKind, CSINodeKind, CSIDriverKind, CSIStorageCapacityKind}

// Provider builds storage.k8s.io/v1.
type Provider struct{}

func (Provider) GroupName() string { return storagev1.GroupName }

func (Provider) NewRESTStorage(c *registry.Context) (map[string]map[string]rest.Storage, error) {
	m := map[string]rest.Storage{}
	if err := c.AddKinds(m, Kinds...); err != nil {
		return nil, err
	}
	return map[string]map[string]rest.Storage{gv.Version: m}, nil
}
