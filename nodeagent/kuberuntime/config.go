package kuberuntime

import (
	"fmt"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// CPU conversions as upstream's pkg/kubelet/cm (helpers_linux.go).
const (
	minShares     = 2
	maxShares     = 262144
	sharesPerCPU  = 1024
	milliCPUToCPU = 1000
	// QuotaPeriod is the CFS period in µs the kubelet uses (100 ms).
	QuotaPeriod    = 100000
	minQuotaPeriod = 1000
)

// MilliCPUToShares converts a CPU request to cgroup cpu.shares.
func MilliCPUToShares(milliCPU int64) int64 {
	if milliCPU == 0 {
		return minShares
	}
	shares := milliCPU * sharesPerCPU / milliCPUToCPU
	return max(minShares, min(shares, maxShares))
}

// MilliCPUToQuota converts a CPU limit to a CFS quota for period (0: no limit).
func MilliCPUToQuota(milliCPU, period int64) int64 {
	if milliCPU == 0 {
		return 0
	}
	return max(milliCPU*period/milliCPUToCPU, minQuotaPeriod)
}

// LinuxResources is upstream's generateLinuxContainerResources without the QoS-based
// oom_score_adj (see OOMScoreAdj).
func LinuxResources(c *corev1.Container) *runtimeapi.LinuxContainerResources {
	r := &runtimeapi.LinuxContainerResources{}
	cpuReq, cpuLim := c.Resources.Requests.Cpu(), c.Resources.Limits.Cpu()
	if cpuReq.IsZero() && !cpuLim.IsZero() {
		r.CpuShares = MilliCPUToShares(cpuLim.MilliValue())
	} else {
		r.CpuShares = MilliCPUToShares(cpuReq.MilliValue())
	}
	if !cpuLim.IsZero() {
		r.CpuPeriod = QuotaPeriod
		r.CpuQuota = MilliCPUToQuota(cpuLim.MilliValue(), QuotaPeriod)
	}
	if m := c.Resources.Limits.Memory(); !m.IsZero() {
		r.MemoryLimitInBytes = m.Value()
	}
	return r
}

// OOMScoreAdj is upstream's GetContainerOOMScoreAdjust (pkg/kubelet/qos/policy.go).
func OOMScoreAdj(pod *corev1.Pod, c *corev1.Container, memoryCapacity int64) int64 {
	switch pod.Status.QOSClass {
	case corev1.PodQOSGuaranteed:
		return -997
	case corev1.PodQOSBestEffort:
		return 1000
	}
	if memoryCapacity <= 0 {
		return 999
	}
	req := c.Resources.Requests.Memory().Value()
	adj := 1000 - (1000*req)/memoryCapacity
	if adj < 3 {
		return 3
	}
	if adj == 1000 {
		return 999
	}
	return adj
}

// BuildPodLogsDirectory is upstream's: <root>/<namespace>_<name>_<uid>.
func BuildPodLogsDirectory(root string, pod *corev1.Pod) string {
	return filepath.Join(root, strings.Join([]string{pod.Namespace, pod.Name, string(pod.UID)}, "_"))
}

// ContainerLogPath is the container's log file relative to the sandbox log directory, as
// upstream: <container>/<restartCount>.log.
func ContainerLogPath(name string, restartCount int) string {
	return filepath.Join(name, fmt.Sprintf("%d.log", restartCount))
}

// podHostname is upstream's GeneratePodHostNameAndDomain, without the cluster DNS setup.
func podHostname(pod *corev1.Pod, clusterDomain string) (string, string) {
	host := pod.Name
	if pod.Spec.Hostname != "" {
		host = pod.Spec.Hostname
	}
	if len(host) > 63 {
		host = strings.TrimRight(host[:63], "-.")
	}
	domain := ""
	if pod.Spec.Subdomain != "" && clusterDomain != "" {
		domain = fmt.Sprintf("%s.%s.svc.%s", pod.Spec.Subdomain, pod.Namespace, clusterDomain)
	}
	return host, domain
}

func protocol(p corev1.Protocol) runtimeapi.Protocol {
	switch p {
	case corev1.ProtocolUDP:
		return runtimeapi.Protocol_UDP
	case corev1.ProtocolSCTP:
		return runtimeapi.Protocol_SCTP
	}
	return runtimeapi.Protocol_TCP
}

// SandboxConfig builds the PodSandboxConfig as upstream's generatePodSandboxConfig.
func (m *Manager) SandboxConfig(pod *corev1.Pod, attempt uint32) *runtimeapi.PodSandboxConfig {
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: pod.Name, Namespace: pod.Namespace, Uid: string(pod.UID), Attempt: attempt},
		Labels:       newPodLabels(pod),
		Annotations:  newPodAnnotations(pod),
		LogDirectory: BuildPodLogsDirectory(m.cfg.PodLogsDir, pod),
	}
	if m.cfg.DNSConfig != nil {
		cfg.DnsConfig = m.cfg.DNSConfig(pod)
	}
	if !pod.Spec.HostNetwork {
		host, _ := podHostname(pod, m.cfg.ClusterDomain)
		cfg.Hostname = host
	}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort == 0 && !pod.Spec.HostNetwork {
				continue
			}
			hostPort := p.HostPort
			if pod.Spec.HostNetwork {
				hostPort = p.ContainerPort
			}
			cfg.PortMappings = append(cfg.PortMappings, &runtimeapi.PortMapping{
				Protocol: protocol(p.Protocol), ContainerPort: p.ContainerPort, HostPort: hostPort, HostIp: p.HostIP,
			})
		}
	}
	ns := &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_POD, Pid: runtimeapi.NamespaceMode_CONTAINER, Ipc: runtimeapi.NamespaceMode_POD}
	if pod.Spec.HostNetwork {
		ns.Network = runtimeapi.NamespaceMode_NODE
	}
	if pod.Spec.HostPID {
		ns.Pid = runtimeapi.NamespaceMode_NODE
	} else if pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace {
		ns.Pid = runtimeapi.NamespaceMode_POD
	}
	if pod.Spec.HostIPC {
		ns.Ipc = runtimeapi.NamespaceMode_NODE
	}
	sc := &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: ns}
	if psc := pod.Spec.SecurityContext; psc != nil {
		if psc.RunAsUser != nil {
			sc.RunAsUser = &runtimeapi.Int64Value{Value: *psc.RunAsUser}
		}
		if psc.RunAsGroup != nil {
			sc.RunAsGroup = &runtimeapi.Int64Value{Value: *psc.RunAsGroup}
		}
		sc.SupplementalGroups = append(sc.SupplementalGroups, psc.SupplementalGroups...)
		if psc.FSGroup != nil {
			sc.SupplementalGroups = append(sc.SupplementalGroups, *psc.FSGroup)
		}
		sc.Seccomp = seccompProfile(psc.SeccompProfile)
	}
	// A privileged container needs a privileged sandbox (containerd refuses it otherwise), as
	// upstream's HasPrivilegedContainer decides.
	sc.Privileged = hasPrivilegedContainer(pod)
	linux := &runtimeapi.LinuxPodSandboxConfig{SecurityContext: sc}
	if m.cfg.CgroupParent != nil {
		linux.CgroupParent = m.cfg.CgroupParent(pod)
	}
	if psc := pod.Spec.SecurityContext; psc != nil && len(psc.Sysctls) > 0 {
		linux.Sysctls = map[string]string{}
		for _, s := range psc.Sysctls {
			linux.Sysctls[s.Name] = s.Value
		}
	}
	cfg.Linux = linux
	return cfg
}

// hasPrivilegedContainer reports whether any init, regular or ephemeral container of pod is
// privileged.
func hasPrivilegedContainer(pod *corev1.Pod) bool {
	privileged := func(sc *corev1.SecurityContext) bool { return sc != nil && sc.Privileged != nil && *sc.Privileged }
	for i := range pod.Spec.InitContainers {
		if privileged(pod.Spec.InitContainers[i].SecurityContext) {
			return true
		}
	}
	for i := range pod.Spec.Containers {
		if privileged(pod.Spec.Containers[i].SecurityContext) {
			return true
		}
	}
	for i := range pod.Spec.EphemeralContainers {
		if privileged(pod.Spec.EphemeralContainers[i].SecurityContext) {
			return true
		}
	}
	return false
}

// ContainerOptions are what the caller resolved for a container: environment (valueFrom,
// envFrom, service links already expanded), mounts (volumes already set up on the host) and
// devices.
type ContainerOptions struct {
	Envs    []*runtimeapi.KeyValue
	Mounts  []*runtimeapi.Mount
	Devices []*runtimeapi.Device
}

// ContainerConfig builds the ContainerConfig as upstream's generateContainerConfig.
func (m *Manager) ContainerConfig(pod *corev1.Pod, c *corev1.Container, imageRef string, restartCount int, opts *ContainerOptions) *runtimeapi.ContainerConfig {
	if opts == nil {
		opts = &ContainerOptions{}
		for _, e := range c.Env {
			opts.Envs = append(opts.Envs, &runtimeapi.KeyValue{Key: e.Name, Value: []byte(e.Value)})
		}
	}
	env := map[string]string{}
	for _, kv := range opts.Envs {
		env[kv.Key] = string(kv.Value)
	}
	cfg := &runtimeapi.ContainerConfig{
		Metadata:    &runtimeapi.ContainerMetadata{Name: c.Name, Attempt: uint32(restartCount)},
		Image:       &runtimeapi.ImageSpec{Image: imageRef, UserSpecifiedImage: c.Image},
		Command:     expandAll(c.Command, env),
		Args:        expandAll(c.Args, env),
		WorkingDir:  c.WorkingDir,
		Labels:      newContainerLabels(c, pod),
		Annotations: newContainerAnnotations(c, pod, restartCount),
		Envs:        opts.Envs,
		Mounts:      opts.Mounts,
		Devices:     opts.Devices,
		LogPath:     ContainerLogPath(c.Name, restartCount),
		Stdin:       c.Stdin,
		StdinOnce:   c.StdinOnce,
		Tty:         c.TTY,
	}
	res := LinuxResources(c)
	res.OomScoreAdj = OOMScoreAdj(pod, c, m.cfg.NodeMemoryCapacity)
	lc := &runtimeapi.LinuxContainerConfig{Resources: res, SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
		NamespaceOptions: m.SandboxConfig(pod, 0).Linux.SecurityContext.NamespaceOptions,
	}}
	csc := lc.SecurityContext
	if psc := pod.Spec.SecurityContext; psc != nil {
		if psc.RunAsUser != nil {
			csc.RunAsUser = &runtimeapi.Int64Value{Value: *psc.RunAsUser}
		}
		if psc.RunAsGroup != nil {
			csc.RunAsGroup = &runtimeapi.Int64Value{Value: *psc.RunAsGroup}
		}
		// upstream's determineEffectiveSecurityContext: the fsGroup is one of the container's
		// groups, so it reads and writes the volumes that fsGroup owns.
		csc.SupplementalGroups = append(csc.SupplementalGroups, psc.SupplementalGroups...)
		if psc.FSGroup != nil {
			csc.SupplementalGroups = append(csc.SupplementalGroups, *psc.FSGroup)
		}
		csc.Seccomp = seccompProfile(psc.SeccompProfile)
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.SeccompProfile != nil {
			csc.Seccomp = seccompProfile(sc.SeccompProfile)
		}
		if sc.RunAsUser != nil {
			csc.RunAsUser = &runtimeapi.Int64Value{Value: *sc.RunAsUser}
		}
		if sc.RunAsGroup != nil {
			csc.RunAsGroup = &runtimeapi.Int64Value{Value: *sc.RunAsGroup}
		}
		if sc.Privileged != nil {
			csc.Privileged = *sc.Privileged
		}
		if sc.ReadOnlyRootFilesystem != nil {
			csc.ReadonlyRootfs = *sc.ReadOnlyRootFilesystem
		}
		if sc.AllowPrivilegeEscalation != nil {
			csc.NoNewPrivs = !*sc.AllowPrivilegeEscalation
		}
		if sc.Capabilities != nil {
			csc.Capabilities = &runtimeapi.Capability{}
			for _, a := range sc.Capabilities.Add {
				csc.Capabilities.AddCapabilities = append(csc.Capabilities.AddCapabilities, string(a))
			}
			for _, d := range sc.Capabilities.Drop {
				csc.Capabilities.DropCapabilities = append(csc.Capabilities.DropCapabilities, string(d))
			}
		}
	}
	cfg.Linux = lc
	return cfg
}

// seccompProfile is the CRI profile of a pod's or container's seccompProfile, as upstream's
// getSeccompProfile: nil (the runtime's choice, unconfined for containerd) when unset,
// RuntimeDefault, Unconfined, or Localhost with the profile's path under the kubelet's
// seccomp directory.
func seccompProfile(p *corev1.SeccompProfile) *runtimeapi.SecurityProfile {
	if p == nil {
		return nil
	}
	switch p.Type {
	case corev1.SeccompProfileTypeRuntimeDefault:
		return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
	case corev1.SeccompProfileTypeLocalhost:
		ref := ""
		if p.LocalhostProfile != nil {
			ref = filepath.Join(SeccompProfileRoot, *p.LocalhostProfile)
		}
		return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: ref}
	}
	return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}
}

// SeccompProfileRoot is where Localhost seccomp profiles are, as the kubelet's default
// (<root-dir>/seccomp).
const SeccompProfileRoot = "/var/lib/kubelet/seccomp"

func expandAll(in []string, env map[string]string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = Expand(s, env)
	}
	return out
}

// Expand is upstream's $(VAR) expansion of command and args: $(VAR) becomes the variable's
// value when it is defined and stays as written otherwise; $$ escapes a $.
func Expand(s string, env map[string]string) string {
	return ExpandFunc(s, func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
}

// ExpandFunc is Expand with the variables' values from mapping: a $(VAR) it reports undefined
// stays as written.
func ExpandFunc(s string, mapping func(name string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := mapping(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
