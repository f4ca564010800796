package agent

import (
	"bytes"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// PodHostname is upstream's GeneratePodHostNameAndDomain: spec.hostname or the pod name (63
// characters at most), and <subdomain>.<ns>.svc.<cluster domain> when spec.subdomain is set.
func PodHostname(pod *corev1.Pod, clusterDomain string) (string, string) {
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

// HostsFile is upstream's managedHostsFileContent: the kubelet-managed /etc/hosts of a pod.
func HostsFile(pod *corev1.Pod, podIPs []string, clusterDomain string) []byte {
	host, domain := PodHostname(pod, clusterDomain)
	var b bytes.Buffer
	b.WriteString("# Kubernetes-managed hosts file.\n")
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\n")
	b.WriteString("fe00::0\tip6-mcastprefix\n")
	b.WriteString("fe00::1\tip6-allnodes\n")
	b.WriteString("fe00::2\tip6-allrouters\n")
	for _, ip := range podIPs {
		if domain != "" {
			fmt.Fprintf(&b, "%s\t%s.%s\t%s\n", ip, host, domain, host)
		} else {
			fmt.Fprintf(&b, "%s\t%s\n", ip, host)
		}
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return b.Bytes()
}

// mountsEtcHosts is upstream's shouldMountHostsFile for a container that does not mount
// /etc/hosts itself.
func mountsEtcHosts(pod *corev1.Pod, c *corev1.Container, podIPs []string) bool {
	if pod.Spec.HostNetwork || len(podIPs) == 0 {
		return false
	}
	for _, m := range c.VolumeMounts {
		if m.MountPath == "/etc/hosts" {
			return false
		}
	}
	return true
}
