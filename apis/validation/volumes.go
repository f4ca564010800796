package validation

import (
	"path"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateVolumes is ValidateVolumes: it returns the valid volumes by name for the mount checks.
func validateVolumes(volumes []corev1.Volume, fldPath *field.Path, opts podValidationOptions) (map[string]corev1.VolumeSource, field.ErrorList) {
	var allErrs field.ErrorList
	allNames := sets.New[string]()
	vols := make(map[string]corev1.VolumeSource)
	for i, vol := range volumes {
		p := fldPath.Index(i)
		namePath := p.Child("name")
		el := validateVolumeSource(&vol.VolumeSource, p, opts)
		if len(vol.Name) == 0 {
			el = append(el, field.Required(namePath, ""))
		} else {
			el = append(el, validateDNS1123Label(vol.Name, namePath)...)
		}
		if allNames.Has(vol.Name) {
			el = append(el, field.Duplicate(namePath, vol.Name))
		}
		if len(el) == 0 {
			allNames.Insert(vol.Name)
			vols[vol.Name] = vol.VolumeSource
		} else {
			allErrs = append(allErrs, el...)
		}
	}
	return vols, allErrs
}

func validateVolumeSource(src *corev1.VolumeSource, fldPath *field.Path, opts podValidationOptions) field.ErrorList {
	var allErrs field.ErrorList
	n := 0
	one := func(set bool, name string, check func(*field.Path) field.ErrorList) {
		if !set {
			return
		}
		if n > 0 {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child(name), "may not specify more than 1 volume type"))
			return
		}
		n++
		if check != nil {
			allErrs = append(allErrs, check(fldPath.Child(name))...)
		}
	}
	one(src.EmptyDir != nil, "emptyDir", func(p *field.Path) field.ErrorList {
		if src.EmptyDir.SizeLimit != nil && src.EmptyDir.SizeLimit.Cmp(resource.Quantity{}) < 0 {
			return field.ErrorList{field.Forbidden(p.Child("sizeLimit"), "SizeLimit field must be a valid resource quantity")}
		}
		return nil
	})
	one(src.HostPath != nil, "hostPath", func(p *field.Path) field.ErrorList {
		if len(src.HostPath.Path) == 0 {
			return field.ErrorList{field.Required(p.Child("path"), "")}
		}
		errs := validatePathNoBacksteps(src.HostPath.Path, p.Child("path"))
		if t := src.HostPath.Type; t != nil && !supportedHostPathTypes.Has(*t) {
			errs = append(errs, field.NotSupported(p.Child("type"), *t, sets.List(supportedHostPathTypes)))
		}
		return errs
	})
	one(src.GitRepo != nil, "gitRepo", func(p *field.Path) field.ErrorList {
		var errs field.ErrorList
		if len(src.GitRepo.Repository) == 0 {
			errs = append(errs, field.Required(p.Child("repository"), ""))
		}
		return append(errs, validateLocalDescendingPath(src.GitRepo.Directory, p.Child("directory"))...)
	})
	one(src.GCEPersistentDisk != nil, "gcePersistentDisk", nil)
	one(src.AWSElasticBlockStore != nil, "awsElasticBlockStore", nil)
	one(src.Secret != nil, "secret", func(p *field.Path) field.ErrorList {
		var errs field.ErrorList
		if len(src.Secret.SecretName) == 0 {
			errs = append(errs, field.Required(p.Child("secretName"), ""))
		}
		errs = append(errs, validateFileMode(src.Secret.DefaultMode, p.Child("defaultMode"))...)
		return append(errs, validateKeyToPaths(src.Secret.Items, p.Child("items"))...)
	})
	one(src.NFS != nil, "nfs", func(p *field.Path) field.ErrorList {
		var errs field.ErrorList
		if len(src.NFS.Server) == 0 {
			errs = append(errs, field.Required(p.Child("server"), ""))
		}
		if len(src.NFS.Path) == 0 {
			errs = append(errs, field.Required(p.Child("path"), ""))
		}
		if !path.IsAbs(src.NFS.Path) {
			errs = append(errs, field.Invalid(p.Child("path"), src.NFS.Path, "must be an absolute path"))
		}
		return errs
	})
	one(src.ISCSI != nil, "iscsi", nil)
	one(src.Glusterfs != nil, "glusterfs", nil)
	one(src.Flocker != nil, "flocker", nil)
	one(src.PersistentVolumeClaim != nil, "persistentVolumeClaim", func(p *field.Path) field.ErrorList {
		if len(src.PersistentVolumeClaim.ClaimName) == 0 {
			return field.ErrorList{field.Required(p.Child("claimName"), "")}
		}
		return nil
	})
	one(src.RBD != nil, "rbd", nil)
	one(src.Cinder != nil, "cinder", nil)
	one(src.CephFS != nil, "cephFS", nil)
	one(src.Quobyte != nil, "quobyte", nil)
	if src.DownwardAPI != nil {
		if n > 0 {
			// sic: upstream reports the conflict on "downwarAPI".
			allErrs = append(allErrs, field.Forbidden(fldPath.Child("downwarAPI"), "may not specify more than 1 volume type"))
		} else {
			n++
			allErrs = append(allErrs, validateDownwardAPIVolumeSource(src.DownwardAPI, fldPath.Child("downwardAPI"))...)
		}
	}
	one(src.FC != nil, "fc", nil)
	one(src.FlexVolume != nil, "flexVolume", nil)
	one(src.ConfigMap != nil, "configMap", func(p *field.Path) field.ErrorList {
		var errs field.ErrorList
		if len(src.ConfigMap.Name) == 0 {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		errs = append(errs, validateFileMode(src.ConfigMap.DefaultMode, p.Child("defaultMode"))...)
		return append(errs, validateKeyToPaths(src.ConfigMap.Items, p.Child("items"))...)
	})
	one(src.AzureFile != nil, "azureFile", nil)
	one(src.VsphereVolume != nil, "vsphereVolume", nil)
	one(src.PhotonPersistentDisk != nil, "photonPersistentDisk", nil)
	one(src.PortworxVolume != nil, "portworxVolume", nil)
	one(src.AzureDisk != nil, "azureDisk", nil)
	one(src.StorageOS != nil, "storageos", nil)
	one(src.Projected != nil, "projected", func(p *field.Path) field.ErrorList {
		return validateProjectedVolumeSource(src.Projected, p)
	})
	one(src.ScaleIO != nil, "scaleIO", nil)
	one(src.CSI != nil, "csi", func(p *field.Path) field.ErrorList {
		if len(src.CSI.Driver) == 0 {
			return field.ErrorList{field.Required(p.Child("driver"), "")}
		}
		return nil
	})
	one(src.Ephemeral != nil, "ephemeral", func(p *field.Path) field.ErrorList {
		if src.Ephemeral.VolumeClaimTemplate == nil {
			return field.ErrorList{field.Required(p.Child("volumeClaimTemplate"), "")}
		}
		return nil
	})
	one(src.Image != nil, "image", func(p *field.Path) field.ErrorList {
		var errs field.ErrorList
		if opts.resourceIsPod && len(src.Image.Reference) == 0 {
			errs = append(errs, field.Required(p.Child("reference"), ""))
		}
		return append(errs, validatePullPolicy(src.Image.PullPolicy, p.Child("pullPolicy"))...)
	})
	if n == 0 {
		allErrs = append(allErrs, field.Required(fldPath, "must specify a volume type"))
	}
	return allErrs
}

var supportedHostPathTypes = sets.New(
	corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory, corev1.HostPathFileOrCreate,
	corev1.HostPathFile, corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev)

func validateFileMode(mode *int32, fldPath *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0777 || *mode < 0) {
		return field.ErrorList{field.Invalid(fldPath, *mode, fileModeErrorMsg)}
	}
	return nil
}

func validateKeyToPaths(items []corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, kp := range items {
		p := fldPath.Index(i)
		if len(kp.Key) == 0 {
			allErrs = append(allErrs, field.Required(p.Child("key"), ""))
		}
		if len(kp.Path) == 0 {
			allErrs = append(allErrs, field.Required(p.Child("path"), ""))
		}
		allErrs = append(allErrs, validateLocalNonReservedPath(kp.Path, p.Child("path"))...)
		if kp.Mode != nil && (*kp.Mode > 0777 || *kp.Mode < 0) {
			allErrs = append(allErrs, field.Invalid(p.Child("mode"), *kp.Mode, fileModeErrorMsg))
		}
	}
	return allErrs
}

func validateDownwardAPIVolumeSource(src *corev1.DownwardAPIVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := validateFileMode(src.DefaultMode, fldPath.Child("defaultMode"))
	for i, f := range src.Items {
		allErrs = append(allErrs, validateDownwardAPIVolumeFile(&f, fldPath.Child("items").Index(i))...)
	}
	return allErrs
}

func validateDownwardAPIVolumeFile(f *corev1.DownwardAPIVolumeFile, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(f.Path) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("path"), ""))
	}
	allErrs = append(allErrs, validateLocalNonReservedPath(f.Path, fldPath.Child("path"))...)
	if f.FieldRef != nil {
		allErrs = append(allErrs, validateObjectFieldSelector(f.FieldRef, validVolumeDownwardAPIFieldPathExpressions, fldPath.Child("fieldRef"))...)
		if f.ResourceFieldRef != nil {
			allErrs = append(allErrs, field.Invalid(fldPath, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	} else if f.ResourceFieldRef != nil {
		allErrs = append(allErrs, validateContainerResourceFieldSelector(f.ResourceFieldRef, fldPath.Child("resourceFieldRef"), true)...)
	} else {
		allErrs = append(allErrs, field.Required(fldPath, "one of fieldRef and resourceFieldRef is required"))
	}
	return append(allErrs, validateFileMode(f.Mode, fldPath.Child("mode"))...)
}

func validateProjectedVolumeSource(src *corev1.ProjectedVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := validateFileMode(src.DefaultMode, fldPath.Child("defaultMode"))
	allPaths := sets.New[string]()
	for i, s := range src.Sources {
		p := fldPath.Child("sources").Index(i)
		n := 0
		if s.Secret != nil {
			n++
			allErrs = append(allErrs, validateKeyToPaths(s.Secret.Items, p.Child("secret", "items"))...)
			for _, kp := range s.Secret.Items {
				allErrs = append(allErrs, checkProjectedPath(allPaths, kp.Path, p)...)
			}
		}
		if s.ConfigMap != nil {
			n++
			allErrs = append(allErrs, validateKeyToPaths(s.ConfigMap.Items, p.Child("configMap", "items"))...)
			for _, kp := range s.ConfigMap.Items {
				allErrs = append(allErrs, checkProjectedPath(allPaths, kp.Path, p)...)
			}
		}
		if s.DownwardAPI != nil {
			n++
			for j, f := range s.DownwardAPI.Items {
				allErrs = append(allErrs, validateDownwardAPIVolumeFile(&f, p.Child("downwardAPI", "items").Index(j))...)
				allErrs = append(allErrs, checkProjectedPath(allPaths, f.Path, p)...)
			}
		}
		if s.ServiceAccountToken != nil {
			n++
			tp := p.Child("serviceAccountToken")
			if s.ServiceAccountToken.ExpirationSeconds != nil {
				if e := *s.ServiceAccountToken.ExpirationSeconds; e < 10*60 {
					allErrs = append(allErrs, field.Invalid(tp.Child("expirationSeconds"), e, "may not specify a duration less than 10 minutes"))
				} else if e > 1<<32 {
					allErrs = append(allErrs, field.Invalid(tp.Child("expirationSeconds"), e, "may not specify a duration larger than 2^32 seconds"))
				}
			}
			if s.ServiceAccountToken.Path == "" {
				allErrs = append(allErrs, field.Required(tp.Child("path"), ""))
			}
			allErrs = append(allErrs, checkProjectedPath(allPaths, s.ServiceAccountToken.Path, p)...)
		}
		if s.ClusterTrustBundle != nil {
			n++
		}
		if s.PodCertificate != nil {
			n++
		}
		if n != 1 {
			allErrs = append(allErrs, field.Forbidden(p, "may not specify more than 1 volume type per source"))
		}
	}
	return allErrs
}

func checkProjectedPath(all sets.Set[string], p string, fldPath *field.Path) field.ErrorList {
	if p == "" {
		return nil
	}
	if all.Has(p) {
		return field.ErrorList{field.Invalid(fldPath, p, "conflicting duplicate paths")}
	}
	all.Insert(p)
	return nil
}
