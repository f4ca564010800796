package validation

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The storage.k8s.io/v1 kinds, as upstream's pkg/apis/storage/validation with 1.37's gates
// (SELinuxMountReadWriteOncePod, MutableCSINodeAllocatableCount and VolumeLimitScaling on).

const (
	maxProvisionerParameterSize   = 256 * (1 << 10)
	maxProvisionerParameterLen    = 512
	maxAttachedVolumeMetadataSize = 256 * (1 << 10)
	maxVolumeErrorMessageSize     = 1024
	csiNodeIDMaxLength            = 256
	maxStorageHealthConditions    = 16
)

// validateStorageCreate validates new storage.k8s.io objects; ok is false for other kinds.
func validateStorageCreate(obj runtime.Object) (field.ErrorList, bool) {
	switch o := obj.(type) {
	case *storagev1.StorageClass:
		return validateStorageClass(o), true
	case *storagev1.VolumeAttributesClass:
		return validateVolumeAttributesClass(o), true
	case *storagev1.CSIDriver:
		return validateCSIDriver(o), true
	case *storagev1.CSINode:
		return validateCSINode(o), true
	case *storagev1.VolumeAttachment:
		return validateVolumeAttachment(o), true
	case *storagev1.CSIStorageCapacity:
		return validateCSIStorageCapacity(o), true
	}
	return nil, false
}

// validateStorageUpdate validates updates of storage.k8s.io objects; ok is false for other kinds.
func validateStorageUpdate(obj, old runtime.Object) (field.ErrorList, bool) {
	switch o := obj.(type) {
	case *storagev1.StorageClass:
		if p, ok := old.(*storagev1.StorageClass); ok {
			return append(validateStorageClass(o), validateStorageClassUpdate(o, p)...), true
		}
	case *storagev1.VolumeAttributesClass:
		if p, ok := old.(*storagev1.VolumeAttributesClass); ok {
			return validateVolumeAttributesClassUpdate(o, p), true
		}
	case *storagev1.CSIDriver:
		if p, ok := old.(*storagev1.CSIDriver); ok {
			return validateCSIDriverUpdate(o, p), true
		}
	case *storagev1.CSINode:
		if p, ok := old.(*storagev1.CSINode); ok {
			return validateCSINodeUpdate(o, p), true
		}
	case *storagev1.VolumeAttachment:
		if p, ok := old.(*storagev1.VolumeAttachment); ok {
			return validateVolumeAttachmentUpdate(o, p), true
		}
	case *storagev1.CSIStorageCapacity:
		if p, ok := old.(*storagev1.CSIStorageCapacity); ok {
			return append(validateCSIStorageCapacity(o), validateCSIStorageCapacityUpdate(o, p)...), true
		}
	default:
		return nil, false
	}
	return mismatchedOld(obj, old), true
}

// validateStorageStatusUpdate validates status updates of VolumeAttachments and CSINodes.
func validateStorageStatusUpdate(obj, old runtime.Object) (field.ErrorList, bool) {
	switch o := obj.(type) {
	case *storagev1.VolumeAttachment:
		if p, ok := old.(*storagev1.VolumeAttachment); ok {
			// Upstream's status strategy inherits the main one's update rules.
			return validateVolumeAttachmentUpdate(o, p), true
		}
	case *storagev1.CSINode:
		if p, ok := old.(*storagev1.CSINode); ok {
			return validateCSINodeStatusUpdate(o, p), true
		}
	default:
		return nil, false
	}
	return mismatchedOld(obj, old), true
}

// ---- StorageClass, VolumeAttributesClass ----

func validateStorageClass(sc *storagev1.StorageClass) field.ErrorList {
	allErrs := validateObjectMeta(&sc.ObjectMeta, false, nameIsDNSSubdomain, field.NewPath("metadata"))
	allErrs = append(allErrs, validateProvisioner(sc.Provisioner, field.NewPath("provisioner"))...)
	allErrs = append(allErrs, validateProvisionerParameters(sc.Parameters, true, field.NewPath("parameters"))...)
	if r := sc.ReclaimPolicy; r != nil && *r != "" && *r != corev1.PersistentVolumeReclaimDelete && *r != corev1.PersistentVolumeReclaimRetain {
		allErrs = append(allErrs, field.NotSupported(field.NewPath("reclaimPolicy"), r,
			[]string{string(corev1.PersistentVolumeReclaimDelete), string(corev1.PersistentVolumeReclaimRetain)}))
	}
	modePath := field.NewPath("volumeBindingMode")
	if m := sc.VolumeBindingMode; m == nil {
		allErrs = append(allErrs, field.Required(modePath, ""))
	} else if *m != storagev1.VolumeBindingImmediate && *m != storagev1.VolumeBindingWaitForFirstConsumer {
		allErrs = append(allErrs, field.NotSupported(modePath, m, []string{string(storagev1.VolumeBindingImmediate), string(storagev1.VolumeBindingWaitForFirstConsumer)}))
	}
	return append(allErrs, validateAllowedTopologies(sc.AllowedTopologies, field.NewPath("allowedTopologies"))...)
}

// validateStorageClassUpdate: parameters, provisioner, reclaimPolicy and volumeBindingMode are
// immutable ("field is immutable", as 1.37's declarative rules say it).
func validateStorageClassUpdate(sc, old *storagev1.StorageClass) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&sc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, validateImmutableField(sc.Parameters, old.Parameters, field.NewPath("parameters"))...)
	allErrs = append(allErrs, validateImmutableField(sc.Provisioner, old.Provisioner, field.NewPath("provisioner"))...)
	allErrs = append(allErrs, validateImmutableField(sc.ReclaimPolicy, old.ReclaimPolicy, field.NewPath("reclaimPolicy"))...)
	return append(allErrs, validateImmutableField(sc.VolumeBindingMode, old.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
}

// validateProvisioner: required, and a qualified name once lower-cased.
func validateProvisioner(provisioner string, fldPath *field.Path) field.ErrorList {
	if len(provisioner) == 0 {
		return field.ErrorList{field.Required(fldPath, provisioner)}
	}
	return validateQualifiedName(strings.ToLower(provisioner), fldPath)
}

// validateProvisionerParameters: at most 512 keys, none empty, 256 kB in all.
func validateProvisionerParameters(params map[string]string, allowEmpty bool, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(params) > maxProvisionerParameterLen {
		return field.ErrorList{field.TooLong(fldPath, "", maxProvisionerParameterLen)}
	}
	var total int64
	for k, v := range params {
		if len(k) < 1 {
			allErrs = append(allErrs, field.Invalid(fldPath, k, "field can not be empty."))
		}
		total += int64(len(k)) + int64(len(v))
	}
	if total > maxProvisionerParameterSize {
		allErrs = append(allErrs, field.TooLong(fldPath, "", maxProvisionerParameterSize))
	}
	if !allowEmpty && len(params) == 0 {
		allErrs = append(allErrs, field.Required(fldPath, "must contain at least one key/value pair"))
	}
	return allErrs
}

// validateAllowedTopologies: each term's expressions have values and label keys, no key twice,
// and no term twice.
func validateAllowedTopologies(terms []corev1.TopologySelectorTerm, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	var seen []map[string]sets.Set[string]
	for i, term := range terms {
		exprs := map[string]sets.Set[string]{}
		exprPath := fldPath.Index(i).Child("matchLabelExpressions")
		for j, req := range term.MatchLabelExpressions {
			reqPath := exprPath.Index(j)
			values := sets.New[string]()
			if len(req.Values) == 0 {
				allErrs = append(allErrs, field.Required(reqPath.Child("values"), ""))
			}
			for k, v := range req.Values {
				if values.Has(v) {
					allErrs = append(allErrs, field.Duplicate(reqPath.Child("values").Index(k), v))
				}
				values.Insert(v)
			}
			allErrs = append(allErrs, metav1validation.ValidateLabelName(req.Key, reqPath.Child("key"))...)
			if _, dup := exprs[req.Key]; dup {
				allErrs = append(allErrs, field.Duplicate(reqPath.Child("key"), req.Key))
			}
			exprs[req.Key] = values
		}
		for _, other := range seen {
			if apiequality.Semantic.DeepEqual(exprs, other) {
				allErrs = append(allErrs, field.Duplicate(exprPath, ""))
			}
		}
		seen = append(seen, exprs)
	}
	return allErrs
}

func validateVolumeAttributesClass(vac *storagev1.VolumeAttributesClass) field.ErrorList {
	allErrs := validateObjectMeta(&vac.ObjectMeta, false, nameIsDNSSubdomain, field.NewPath("metadata"))
	allErrs = append(allErrs, validateProvisioner(vac.DriverName, field.NewPath("driverName"))...)
	return append(allErrs, validateProvisionerParameters(vac.Parameters, false, field.NewPath("parameters"))...)
}

func validateVolumeAttributesClassUpdate(vac, old *storagev1.VolumeAttributesClass) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&vac.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	if vac.DriverName != old.DriverName {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("driverName"), "updates to driverName are forbidden."))
	}
	if !reflect.DeepEqual(old.Parameters, vac.Parameters) {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
	}
	return append(allErrs, validateVolumeAttributesClass(vac)...)
}

// ---- CSIDriver ----

func validateCSIDriver(d *storagev1.CSIDriver) field.ErrorList {
	allErrs := validateObjectMeta(&d.ObjectMeta, false, nameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateCSIDriverSpec(&d.Spec, field.NewPath("spec"))...)
}

// validateCSIDriverUpdate: attachRequired (reported at upstream's "spec.attachedRequired") and
// volumeLifecycleModes are immutable.
func validateCSIDriverUpdate(d, old *storagev1.CSIDriver) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&d.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, validateCSIDriverSpec(&d.Spec, field.NewPath("spec"))...)
	allErrs = append(allErrs, validateImmutableField(d.Spec.AttachRequired, old.Spec.AttachRequired, field.NewPath("spec", "attachedRequired"))...)
	return append(allErrs, validateImmutableField(d.Spec.VolumeLifecycleModes, old.Spec.VolumeLifecycleModes, field.NewPath("spec", "volumeLifecycleModes"))...)
}

var supportedFSGroupPolicies = []string{string(storagev1.FileFSGroupPolicy), string(storagev1.NoneFSGroupPolicy), string(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy)}

func validateCSIDriverSpec(spec *storagev1.CSIDriverSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, req := range []struct {
		value *bool
		name  string
	}{{spec.AttachRequired, "attachedRequired"}, {spec.PodInfoOnMount, "podInfoOnMount"}, {spec.StorageCapacity, "storageCapacity"}} {
		if req.value == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child(req.name), ""))
		}
	}
	if p := spec.FSGroupPolicy; p != nil && !sets.New(supportedFSGroupPolicies...).Has(string(*p)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("fsGroupPolicy"), p, supportedFSGroupPolicies))
	}
	allErrs = append(allErrs, validateTokenRequests(spec.TokenRequests, fldPath.Child("tokenRequests"))...)
	for _, mode := range spec.VolumeLifecycleModes {
		if mode != storagev1.VolumeLifecyclePersistent && mode != storagev1.VolumeLifecycleEphemeral {
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("volumeLifecycleModes"), mode,
				[]string{string(storagev1.VolumeLifecyclePersistent), string(storagev1.VolumeLifecycleEphemeral)}))
		}
	}
	if spec.SELinuxMount == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("seLinuxMount"), ""))
	}
	if p := spec.NodeAllocatableUpdatePeriodSeconds; p != nil && *p < 10 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("nodeAllocatableUpdatePeriodSeconds"), *p, "must be greater than or equal to 10 seconds"))
	}
	if s := spec.ServiceAccountTokenInSecrets; s != nil && len(spec.TokenRequests) == 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("serviceAccountTokenInSecrets"), s, "serviceAccountTokenInSecrets is set but no tokenRequests are specified"))
	}
	if spec.PreventPodSchedulingIfMissing == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("preventPodSchedulingIfMissing"), ""))
	}
	return allErrs
}

// validateTokenRequests: distinct audiences, expirations between 10 minutes and 2^32 seconds.
func validateTokenRequests(requests []storagev1.TokenRequest, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	audiences := sets.New[string]()
	for i, r := range requests {
		path := fldPath.Index(i)
		if audiences.Has(r.Audience) {
			allErrs = append(allErrs, field.Duplicate(path.Child("audience"), r.Audience))
			continue
		}
		audiences.Insert(r.Audience)
		if r.ExpirationSeconds == nil {
			continue
		}
		if *r.ExpirationSeconds < int64((10 * time.Minute).Seconds()) {
			allErrs = append(allErrs, field.Invalid(path.Child("expirationSeconds"), *r.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
		}
		if *r.ExpirationSeconds > 1<<32 {
			allErrs = append(allErrs, field.Invalid(path.Child("expirationSeconds"), *r.ExpirationSeconds, "may not specify a duration larger than 2^32 seconds"))
		}
	}
	return allErrs
}

// validateCSIDriverName is core validation's ValidateCSIDriverName: required, at most 63
// characters, a DNS subdomain once lower-cased.
func validateCSIDriverName(name string, fldPath *field.Path) field.ErrorList {
	if len(name) == 0 {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var allErrs field.ErrorList
	if len(name) > 63 {
		allErrs = append(allErrs, field.TooLong(fldPath, "", 63))
	}
	for _, msg := range validation.IsDNS1123Subdomain(strings.ToLower(name)) {
		allErrs = append(allErrs, field.Invalid(fldPath, name, msg))
	}
	return allErrs
}

// ---- CSINode ----

func validateCSINode(n *storagev1.CSINode) field.ErrorList {
	allErrs := validateObjectMeta(&n.ObjectMeta, false, nameIsDNSSubdomain, field.NewPath("metadata"))
	driversPath := field.NewPath("spec", "drivers")
	names := sets.New[string]()
	for i, d := range n.Spec.Drivers {
		path := driversPath.Index(i)
		allErrs = append(allErrs, validateCSIDriverName(d.Name, path.Child("name"))...)
		if len(d.NodeID) == 0 {
			allErrs = append(allErrs, field.Required(path.Child("nodeID"), d.NodeID))
		}
		if len(d.NodeID) > csiNodeIDMaxLength {
			allErrs = append(allErrs, field.Invalid(path.Child("nodeID"), d.NodeID, fmt.Sprintf("must be %d characters or less", csiNodeIDMaxLength)))
		}
		if a := d.Allocatable; a != nil && a.Count != nil {
			allErrs = append(allErrs, validateNonnegativeField(int64(*a.Count), path.Child("allocatable", "count"))...)
		}
		if names.Has(d.Name) {
			allErrs = append(allErrs, field.Duplicate(path.Child("name"), d.Name))
		}
		names.Insert(d.Name)
		keys := sets.New[string]()
		for _, key := range d.TopologyKeys {
			if len(key) == 0 {
				allErrs = append(allErrs, field.Required(path, key))
			}
			if keys.Has(key) {
				allErrs = append(allErrs, field.Duplicate(path, key))
			}
			keys.Insert(key)
			allErrs = append(allErrs, validateQualifiedName(key, path)...)
		}
	}
	return allErrs
}

// validateCSINodeUpdate: a driver keeps its entry, except allocatable (the count may change).
func validateCSINodeUpdate(n, old *storagev1.CSINode) field.ErrorList {
	allErrs := validateCSINode(n)
	for _, o := range old.Spec.Drivers {
		for _, d := range n.Spec.Drivers {
			if o.Name != d.Name {
				continue
			}
			o, d := o.DeepCopy(), d.DeepCopy()
			o.Allocatable, d.Allocatable = nil, nil
			allErrs = append(allErrs, validateImmutableField(d, o, field.NewPath("spec").Child("drivers"))...)
		}
	}
	return allErrs
}

var (
	storageHealthStatuses = sets.New(storagev1.StorageUnreachable, storagev1.StorageDegraded)
	storageHealthModes    = sets.New(corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod)
)

func validateCSINodeStatusUpdate(n, old *storagev1.CSINode) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&n.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	fldPath := field.NewPath("status", "storageHealth")
	seen := sets.New[string]()
	for i, h := range n.Status.StorageHealth {
		path := fldPath.Index(i)
		if seen.Has(h.Name) {
			allErrs = append(allErrs, field.Duplicate(path, h.Name))
		}
		seen.Insert(h.Name)
		if len(h.Name) == 0 {
			allErrs = append(allErrs, field.Required(path.Child("name"), ""))
		} else {
			allErrs = append(allErrs, validateCSIDriverName(h.Name, path.Child("name"))...)
		}
		if len(h.HealthConditions) > maxStorageHealthConditions {
			allErrs = append(allErrs, field.TooMany(path.Child("healthConditions"), len(h.HealthConditions), maxStorageHealthConditions))
			continue
		}
		for j, c := range h.HealthConditions {
			allErrs = append(allErrs, validateStorageHealthCondition(c, path.Child("healthConditions").Index(j))...)
		}
	}
	return allErrs
}

func validateStorageHealthCondition(c storagev1.StorageHealthCondition, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if !storageHealthStatuses.Has(c.Status) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("status"), c.Status, sets.List(storageHealthStatuses)))
	}
	if len(c.Reason) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("reason"), ""))
	} else {
		for _, msg := range metav1validation.IsValidConditionReason(c.Reason) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("reason"), c.Reason, msg))
		}
		if len(c.Reason) > 256 {
			allErrs = append(allErrs, field.TooLong(fldPath.Child("reason"), c.Reason, 256))
		}
	}
	if len(c.Message) > 1024 {
		allErrs = append(allErrs, field.TooLong(fldPath.Child("message"), c.Message, 1024))
	}
	if c.AccessMode != nil && !storageHealthModes.Has(*c.AccessMode) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("accessMode"), *c.AccessMode, sets.List(storageHealthModes)))
	}
	if c.VolumeMode != nil && !supportedVolumeModes.Has(*c.VolumeMode) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("volumeMode"), *c.VolumeMode, []corev1.PersistentVolumeMode{corev1.PersistentVolumeFilesystem, corev1.PersistentVolumeBlock}))
	}
	return allErrs
}

// ---- VolumeAttachment ----

// validateVolumeAttachment: a DNS subdomain name, an attacher (a CSI driver name), exactly one
// source, a node name, and bounded attachment metadata and error messages.
func validateVolumeAttachment(va *storagev1.VolumeAttachment) field.ErrorList {
	allErrs := validateObjectMeta(&va.ObjectMeta, false, nameIsDNSSubdomain, field.NewPath("metadata"))
	spec := field.NewPath("spec")
	allErrs = append(allErrs, validateCSIDriverName(va.Spec.Attacher, spec.Child("attacher"))...)
	src, srcPath := va.Spec.Source, spec.Child("source")
	switch {
	case src.InlineVolumeSpec == nil && src.PersistentVolumeName == nil:
		allErrs = append(allErrs, field.Required(srcPath, "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
	case src.InlineVolumeSpec != nil && src.PersistentVolumeName != nil:
		allErrs = append(allErrs, field.Forbidden(srcPath, "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
	case src.PersistentVolumeName != nil && len(*src.PersistentVolumeName) == 0:
		allErrs = append(allErrs, field.Required(srcPath.Child("persistentVolumeName"), "must specify non empty persistentVolumeName"))
	case src.InlineVolumeSpec != nil:
		allErrs = append(allErrs, validateInlineVolumeSpec(src.InlineVolumeSpec, srcPath.Child("inlineVolumeSpec"))...)
	}
	allErrs = append(allErrs, validateNameWith(nameIsDNSSubdomain, va.Spec.NodeName, false, spec.Child("nodeName"))...)
	status := field.NewPath("status")
	var size int64
	for k, v := range va.Status.AttachmentMetadata {
		size += int64(len(k)) + int64(len(v))
	}
	if size > maxAttachedVolumeMetadataSize {
		allErrs = append(allErrs, field.TooLong(status.Child("attachmentMetadata"), "", maxAttachedVolumeMetadataSize))
	}
	allErrs = append(allErrs, validateVolumeError(va.Status.AttachError, status.Child("attachError"))...)
	allErrs = append(allErrs, validateVolumeError(va.Status.DetachError, status.Child("detachError"))...)
	if name := src.PersistentVolumeName; name != nil {
		for _, msg := range nameIsDNSSubdomain(*name, false) {
			allErrs = append(allErrs, field.Invalid(field.NewPath("spec.source.persistentVolumeName"), *name, msg))
		}
	}
	return allErrs
}

// validateInlineVolumeSpec is the inline part of ValidatePersistentVolumeSpec: a CSI volume
// (driver and handle) with access modes, and none of what only a PersistentVolume object has.
func validateInlineVolumeSpec(spec *corev1.PersistentVolumeSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	const inline = "may not be specified in the context of inline volumes"
	if spec.ClaimRef != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("claimRef"), inline))
	}
	if len(spec.Capacity) != 0 {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("capacity"), inline))
	}
	if spec.CSI == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("csi"), "has to be specified in the context of inline volumes"))
	} else {
		allErrs = append(allErrs, validateCSIDriverName(spec.CSI.Driver, fldPath.Child("csi", "driver"))...)
		if len(spec.CSI.VolumeHandle) == 0 {
			allErrs = append(allErrs, field.Required(fldPath.Child("csi", "volumeHandle"), ""))
		}
	}
	if len(spec.AccessModes) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("accessModes"), ""))
	}
	for _, mode := range spec.AccessModes {
		if !supportedAccessModes.Has(mode) {
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("accessModes"), mode, sets.List(supportedAccessModes)))
		}
	}
	if r := spec.PersistentVolumeReclaimPolicy; r != "" && r != corev1.PersistentVolumeReclaimRetain {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("persistentVolumeReclaimPolicy"), "may only be Retain in the context of inline volumes"))
	}
	if spec.NodeAffinity != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("nodeAffinity"), inline))
	}
	if spec.StorageClassName != "" {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("storageClassName"), inline))
	}
	if m := spec.VolumeMode; m != nil && *m != corev1.PersistentVolumeFilesystem {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("volumeMode"), "may not specify volumeMode other than Filesystem in the context of inline volumes"))
	}
	return allErrs
}

// validateVolumeAttachmentUpdate: the attachment stays valid and its spec is immutable.
func validateVolumeAttachmentUpdate(va, old *storagev1.VolumeAttachment) field.ErrorList {
	return append(validateVolumeAttachment(va), validateImmutableField(va.Spec, old.Spec, field.NewPath("spec"))...)
}

func validateVolumeError(e *storagev1.VolumeError, fldPath *field.Path) field.ErrorList {
	if e == nil {
		return nil
	}
	var allErrs field.ErrorList
	if len(e.Message) > maxVolumeErrorMessageSize {
		allErrs = append(allErrs, field.TooLong(fldPath.Child("message"), "", maxVolumeErrorMessageSize))
	}
	if e.ErrorCode != nil && *e.ErrorCode < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("errorCode"), *e.ErrorCode, validation.InclusiveRangeError(0, math.MaxInt32)))
	}
	return allErrs
}

// ---- CSIStorageCapacity ----

func validateCSIStorageCapacity(c *storagev1.CSIStorageCapacity) field.ErrorList {
	allErrs := validateObjectMeta(&c.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	allErrs = append(allErrs, metav1validation.ValidateLabelSelector(c.NodeTopology, metav1validation.LabelSelectorValidationOptions{}, field.NewPath("nodeTopology"))...)
	allErrs = append(allErrs, validateClassName(c.StorageClassName, field.NewPath("storageClassName"))...)
	if c.Capacity != nil && c.Capacity.Cmp(resource.Quantity{}) < 0 {
		allErrs = append(allErrs, field.Invalid(field.NewPath("capacity"), c.Capacity.String(), isNegativeErrorMsg))
	}
	return allErrs
}

func validateCSIStorageCapacityUpdate(c, old *storagev1.CSIStorageCapacity) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	if !apiequality.Semantic.DeepEqual(c.NodeTopology, old.NodeTopology) {
		allErrs = append(allErrs, field.Invalid(field.NewPath("nodeTopology"), c.NodeTopology, "field is immutable"))
	}
	if c.StorageClassName != old.StorageClassName {
		allErrs = append(allErrs, field.Invalid(field.NewPath("storageClassName"), c.StorageClassName, "field is immutable"))
	}
	return allErrs
}
