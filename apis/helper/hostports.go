package helper

import corev1 "k8s.io/api/core/v1"

// HostPort is one host port a pod uses: the protocol (TCP when unset), the address (0.0.0.0
// when unset) and the port.
type HostPort struct {
	Protocol corev1.Protocol
	IP       string
	Port     int32
}

// PodHostPorts lists the host ports of a pod's regular containers and restartable init
// containers (sidecars), as upstream's scheduler (NodePorts) and the kubelet's admission count
// them.
func PodHostPorts(spec *corev1.PodSpec) []HostPort {
	var out []HostPort
	add := func(cs []corev1.Container, sidecarsOnly bool) {
		for i := range cs {
			if sidecarsOnly && (cs[i].RestartPolicy == nil || *cs[i].RestartPolicy != corev1.ContainerRestartPolicyAlways) {
				continue
			}
			for _, p := range cs[i].Ports {
				if p.HostPort <= 0 {
					continue
				}
				proto := p.Protocol
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				ip := p.HostIP
				if ip == "" {
					ip = "0.0.0.0"
				}
				out = append(out, HostPort{Protocol: proto, IP: ip, Port: p.HostPort})
			}
		}
	}
	add(spec.InitContainers, true)
	add(spec.Containers, false)
	return out
}

// Conflicts reports whether two host ports collide: same protocol and port, and the same
// address or either the wildcard 0.0.0.0.
func (h HostPort) Conflicts(o HostPort) bool {
	return h.Protocol == o.Protocol && h.Port == o.Port && (h.IP == o.IP || h.IP == "0.0.0.0" || o.IP == "0.0.0.0")
}
