package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Upstream's limits (pkg/kubelet/network/dns).
const (
	maxDNSNameservers = 3
	maxDNSSearchPaths = 32
)

// DNSInput is the node's DNS settings.
type DNSInput struct {
	ClusterDNS    []string
	ClusterDomain string
	// HostResolvConf is the content of the host's /etc/resolv.conf.
	HostResolvConf []byte
}

// ParseResolvConf reads nameservers, searches and options.
func ParseResolvConf(b []byte) (servers, searches, options []string) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			servers = append(servers, f[1])
		case "search":
			searches = append([]string{}, f[1:]...)
		case "options":
			options = append(options, f[1:]...)
		}
	}
	return
}

// PodDNSConfig is upstream's GetPodDNS: ClusterFirst (ClusterFirstWithHostNet for host-network
// pods) uses the cluster DNS with the pod's search path and ndots:5, Default the host's
// resolv.conf, None only the pod's dnsConfig; dnsConfig is merged into all of them. With no
// cluster DNS configured, ClusterFirst falls back to Default as upstream does.
func PodDNSConfig(pod *corev1.Pod, in DNSInput) *runtimeapi.DNSConfig {
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = corev1.DNSClusterFirst
	}
	if policy == corev1.DNSClusterFirst && pod.Spec.HostNetwork {
		policy = corev1.DNSDefault
	}
	if (policy == corev1.DNSClusterFirst || policy == corev1.DNSClusterFirstWithHostNet) && len(in.ClusterDNS) == 0 {
		policy = corev1.DNSDefault
	}
	cfg := &runtimeapi.DNSConfig{}
	switch policy {
	case corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet:
		domain := in.ClusterDomain
		if domain == "" {
			domain = "cluster.local"
		}
		cfg.Servers = append([]string{}, in.ClusterDNS...)
		cfg.Searches = []string{fmt.Sprintf("%s.svc.%s", pod.Namespace, domain), "svc." + domain, domain}
		_, hostSearch, _ := ParseResolvConf(in.HostResolvConf)
		// Upstream omits duplicates (generateSearchesForDNSClusterFirst).
		cfg.Searches = dedup(append(cfg.Searches, hostSearch...))
		cfg.Options = []string{"ndots:5"}
	case corev1.DNSDefault:
		cfg.Servers, cfg.Searches, cfg.Options = ParseResolvConf(in.HostResolvConf)
	}
	if dc := pod.Spec.DNSConfig; dc != nil {
		cfg.Servers = dedup(append(cfg.Servers, dc.Nameservers...))
		cfg.Searches = dedup(append(cfg.Searches, dc.Searches...))
		cfg.Options = mergeOptions(cfg.Options, dc.Options)
	}
	if len(cfg.Servers) > maxDNSNameservers {
		cfg.Servers = cfg.Servers[:maxDNSNameservers]
	}
	if len(cfg.Searches) > maxDNSSearchPaths {
		cfg.Searches = cfg.Searches[:maxDNSSearchPaths]
	}
	return cfg
}

func dedup(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// mergeOptions is upstream's mergeDNSOptions: pod options override the same-named ones.
func mergeOptions(existing []string, pod []corev1.PodDNSConfigOption) []string {
	idx := map[string]int{}
	var out []string
	for _, o := range existing {
		name := strings.SplitN(o, ":", 2)[0]
		idx[name] = len(out)
		out = append(out, o)
	}
	for _, o := range pod {
		v := o.Name
		if o.Value != nil {
			v = o.Name + ":" + *o.Value
		}
		if i, ok := idx[o.Name]; ok {
			out[i] = v
			continue
		}
		idx[o.Name] = len(out)
		out = append(out, v)
	}
	return out
}
