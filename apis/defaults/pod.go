package defaults

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// defaultPod applies SetDefaults_Pod on top of the PodSpec defaults.
func defaultPod(pod *corev1.Pod) {
	defaultPodSpec(&pod.Spec)
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range cs {
			r := &cs[i].Resources
			if r.Limits != nil {
				if r.Requests == nil {
					r.Requests = make(corev1.ResourceList)
				}
				for k, v := range r.Limits {
					if _, ok := r.Requests[k]; !ok {
						r.Requests[k] = v.DeepCopy()
					}
				}
			}
		}
	}
	if pod.Spec.EnableServiceLinks == nil {
		pod.Spec.EnableServiceLinks = ptrTo(corev1.DefaultEnableServiceLinks)
	}
	if pod.Spec.HostNetwork {
		defaultHostNetworkPorts(pod.Spec.Containers)
		defaultHostNetworkPorts(pod.Spec.InitContainers)
	}
}

func defaultHostNetworkPorts(cs []corev1.Container) {
	for i := range cs {
		for j := range cs[i].Ports {
			if cs[i].Ports[j].HostPort == 0 {
				cs[i].Ports[j].HostPort = cs[i].Ports[j].ContainerPort
			}
		}
	}
}

// defaultPodTemplateSpec applies the defaults a pod template gets (the PodSpec ones, not
// SetDefaults_Pod's).
func defaultPodTemplateSpec(t *corev1.PodTemplateSpec) {
	defaultPodSpec(&t.Spec)
}

func defaultPodSpec(spec *corev1.PodSpec) {
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		spec.TerminationGracePeriodSeconds = ptrTo(int64(corev1.DefaultTerminationGracePeriodSeconds))
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = corev1.DefaultSchedulerName
	}
	for i := range spec.Volumes {
		defaultVolume(&spec.Volumes[i])
	}
	for i := range spec.InitContainers {
		defaultContainer(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		defaultContainer(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		c := corev1.Container(spec.EphemeralContainers[i].EphemeralContainerCommon)
		defaultContainer(&c)
		spec.EphemeralContainers[i].EphemeralContainerCommon = corev1.EphemeralContainerCommon(c)
	}
	defaultResourceList(spec.Overhead)
	if spec.Resources != nil {
		defaultResourceList(spec.Resources.Limits)
		defaultResourceList(spec.Resources.Requests)
	}
}

func defaultContainer(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		if imageTag(c.Image) == "latest" {
			c.ImagePullPolicy = corev1.PullAlways
		} else {
			c.ImagePullPolicy = corev1.PullIfNotPresent
		}
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil && vf.FieldRef != nil && vf.FieldRef.APIVersion == "" {
			vf.FieldRef.APIVersion = "v1"
		}
	}
	defaultResourceList(c.Resources.Limits)
	defaultResourceList(c.Resources.Requests)
	Probe(c.LivenessProbe)
	Probe(c.ReadinessProbe)
	Probe(c.StartupProbe)
	if c.Lifecycle != nil {
		defaultLifecycleHandler(c.Lifecycle.PostStart)
		defaultLifecycleHandler(c.Lifecycle.PreStop)
	}
}

// imageTag returns the tag ParseImageName would give: "latest" when the reference has neither a
// tag nor a digest, "" for an empty or unparsable reference.
func imageTag(image string) string {
	if image == "" || strings.TrimSpace(image) != image {
		return ""
	}
	name, digest := image, ""
	if at := strings.Index(image, "@"); at >= 0 {
		name, digest = image[:at], image[at+1:]
	}
	tag := ""
	lastSlash := strings.LastIndex(name, "/")
	if colon := strings.LastIndex(name, ":"); colon > lastSlash {
		tag = name[colon+1:]
		name = name[:colon]
	}
	if name == "" || strings.ToLower(name) != name {
		return "" // invalid reference: upstream ignores the parse error and gets no tag
	}
	if tag == "" && digest == "" {
		return "latest"
	}
	return tag
}

// Probe fills in a probe's unset timeout, period and thresholds and its httpGet path and
// scheme, as upstream; nil is left alone.
func Probe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	defaultHTTPGet(p.HTTPGet)
	if p.GRPC != nil && p.GRPC.Service == nil {
		p.GRPC.Service = ptrTo("")
	}
}

func defaultLifecycleHandler(h *corev1.LifecycleHandler) {
	if h != nil {
		defaultHTTPGet(h.HTTPGet)
	}
}

func defaultHTTPGet(h *corev1.HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = corev1.URISchemeHTTP
	}
}

func defaultVolume(v *corev1.Volume) {
	if allVolumeSourcesNil(&v.VolumeSource) {
		v.VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	}
	vs := &v.VolumeSource
	if vs.Secret != nil && vs.Secret.DefaultMode == nil {
		vs.Secret.DefaultMode = ptrTo(corev1.SecretVolumeSourceDefaultMode)
	}
	if vs.ConfigMap != nil && vs.ConfigMap.DefaultMode == nil {
		vs.ConfigMap.DefaultMode = ptrTo(corev1.ConfigMapVolumeSourceDefaultMode)
	}
	if vs.DownwardAPI != nil {
		if vs.DownwardAPI.DefaultMode == nil {
			vs.DownwardAPI.DefaultMode = ptrTo(corev1.DownwardAPIVolumeSourceDefaultMode)
		}
		defaultDownwardAPIItems(vs.DownwardAPI.Items)
	}
	if vs.Projected != nil {
		if vs.Projected.DefaultMode == nil {
			vs.Projected.DefaultMode = ptrTo(corev1.ProjectedVolumeSourceDefaultMode)
		}
		for i := range vs.Projected.Sources {
			src := &vs.Projected.Sources[i]
			if src.ServiceAccountToken != nil && src.ServiceAccountToken.ExpirationSeconds == nil {
				src.ServiceAccountToken.ExpirationSeconds = ptrTo(int64(3600))
			}
			if src.DownwardAPI != nil {
				defaultDownwardAPIItems(src.DownwardAPI.Items)
			}
		}
	}
	if vs.HostPath != nil && vs.HostPath.Type == nil {
		vs.HostPath.Type = ptrTo(corev1.HostPathUnset)
	}
	if vs.ISCSI != nil && vs.ISCSI.ISCSIInterface == "" {
		vs.ISCSI.ISCSIInterface = "default"
	}
	if vs.RBD != nil {
		if vs.RBD.RBDPool == "" {
			vs.RBD.RBDPool = "rbd"
		}
		if vs.RBD.RadosUser == "" {
			vs.RBD.RadosUser = "admin"
		}
		if vs.RBD.Keyring == "" {
			vs.RBD.Keyring = "/etc/ceph/keyring"
		}
	}
	if vs.AzureDisk != nil {
		if vs.AzureDisk.CachingMode == nil {
			vs.AzureDisk.CachingMode = ptrTo(corev1.AzureDataDiskCachingReadWrite)
		}
		if vs.AzureDisk.Kind == nil {
			vs.AzureDisk.Kind = ptrTo(corev1.AzureSharedBlobDisk)
		}
		if vs.AzureDisk.FSType == nil {
			vs.AzureDisk.FSType = ptrTo("ext4")
		}
		if vs.AzureDisk.ReadOnly == nil {
			vs.AzureDisk.ReadOnly = ptrTo(false)
		}
	}
	if vs.ScaleIO != nil {
		if vs.ScaleIO.StorageMode == "" {
			vs.ScaleIO.StorageMode = "ThinProvisioned"
		}
		if vs.ScaleIO.FSType == "" {
			vs.ScaleIO.FSType = "xfs"
		}
	}
	if vs.Image != nil && vs.Image.PullPolicy == "" {
		if imageTag(vs.Image.Reference) == "latest" {
			vs.Image.PullPolicy = corev1.PullAlways
		} else {
			vs.Image.PullPolicy = corev1.PullIfNotPresent
		}
	}
}

func defaultDownwardAPIItems(items []corev1.DownwardAPIVolumeFile) {
	for i := range items {
		if items[i].FieldRef != nil && items[i].FieldRef.APIVersion == "" {
			items[i].FieldRef.APIVersion = "v1"
		}
	}
}

func allVolumeSourcesNil(vs *corev1.VolumeSource) bool {
	return vs.HostPath == nil && vs.EmptyDir == nil && vs.GCEPersistentDisk == nil &&
		vs.AWSElasticBlockStore == nil && vs.GitRepo == nil && vs.Secret == nil && vs.NFS == nil &&
		vs.ISCSI == nil && vs.Glusterfs == nil && vs.PersistentVolumeClaim == nil && vs.RBD == nil &&
		vs.FlexVolume == nil && vs.Cinder == nil && vs.CephFS == nil && vs.Flocker == nil &&
		vs.DownwardAPI == nil && vs.FC == nil && vs.AzureFile == nil && vs.ConfigMap == nil &&
		vs.VsphereVolume == nil && vs.Quobyte == nil && vs.AzureDisk == nil &&
		vs.PhotonPersistentDisk == nil && vs.Projected == nil && vs.PortworxVolume == nil &&
		vs.ScaleIO == nil && vs.StorageOS == nil && vs.CSI == nil && vs.Ephemeral == nil && vs.Image == nil
}
