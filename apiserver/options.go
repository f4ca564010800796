package apiserver

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	utilnet "k8s.io/apimachinery/pkg/util/net"

	"github.com/skiff-dev/skiff/apiserver/etcd"
	"github.com/skiff-dev/skiff/insight/scheddiag"
	"github.com/skiff-dev/skiff/insight/trace"
)

// Options are the API server's settings, as flags set them.
type Options struct {
	// DataDir holds pki/, etcd/ and the admin kubeconfig.
	DataDir string
	// Tracing, when set, records the spans of write requests (k8s.io/apiserver's request spans
	// and its etcd3 storage spans, annotated with the object written) and serves
	// /insight/v1/traces from its store and the node agents' (apiserver/insight/traces).
	Tracing *trace.Provider
	// BindAddress and SecurePort are where the API is served.
	BindAddress net.IP
	SecurePort  int
	// AdvertiseAddress is the address other machines and pods reach the API server on, published
	// in the kubernetes Service's endpoints (default: the host's primary IP, as kube-apiserver).
	AdvertiseAddress string
	// EtcdServers, when set, points at an external etcd instead of the embedded member.
	EtcdServers []string
	// EtcdClientPort and EtcdPeerPort are the embedded member's loopback ports (0: any free port).
	EtcdClientPort, EtcdPeerPort int
	// EtcdCluster, when set, runs the embedded etcd as a member of a growable cluster (TLS with
	// the etcd CA, peers on the advertise address; apiserver/controlplane prepares it), named
	// EtcdMemberName.
	EtcdCluster    *etcd.Cluster
	EtcdMemberName string
	// ServiceClusterIPRange is the IPv4 CIDR of service ClusterIPs (upstream's default).
	ServiceClusterIPRange string
	// DefaultNotReadyTolerationSeconds and DefaultUnreachableTolerationSeconds are the
	// tolerationSeconds the DefaultTolerationSeconds admission plugin gives pods without their own
	// (upstream's --default-not-ready-toleration-seconds and
	// --default-unreachable-toleration-seconds; 0: upstream's 300).
	DefaultNotReadyTolerationSeconds    int64
	DefaultUnreachableTolerationSeconds int64
	// ServiceNodePortRange is the port range NodePorts come from (upstream's default 30000-32767).
	ServiceNodePortRange string
	// ExtraMetrics are gathered into /metrics beside the API server's own (in-process controllers).
	ExtraMetrics []prometheus.Gatherer
	// Version is the Kubernetes version reported by /version.
	Version string
	// ServiceAccountIssuer is the iss claim of service account tokens and the API's audience
	// (--service-account-issuer; default https://kubernetes.default.svc.cluster.local).
	ServiceAccountIssuer string
	// ServiceAccountMaxTokenExpiration caps TokenRequest durations (0: no cap).
	ServiceAccountMaxTokenExpiration time.Duration
	// DisableServiceAccountAdmission turns the ServiceAccount admission plugin off, as upstream's
	// integration tests do where no controller creates the default ServiceAccounts.
	DisableServiceAccountAdmission bool
	// DisablePodSecurityAdmission turns the PodSecurity admission plugin off (upstream's
	// --disable-admission-plugins=PodSecurity).
	DisablePodSecurityAdmission bool
	// DisableDefaultStorageClass skips creating the built-in default StorageClass local-path
	// (provisioner skiff.dev/local-path) at start, for clusters that want no default class.
	DisableDefaultStorageClass bool
	// DisableIngress skips creating the built-in default IngressClass skiff (controller
	// skiff.dev/ingress-controller) at start (`skiff up|server --disable-ingress`).
	DisableIngress bool
	// DisableMetricsAPI leaves out the built-in metrics.k8s.io (the resource metrics of nodes
	// and pods, scraped from the nodes' /metrics/resource), so that the real metrics-server can
	// serve it (`skiff up|server --disable-metrics-api`).
	DisableMetricsAPI bool
	// MetricResolution is how often the built-in metrics API scrapes the nodes
	// (metrics-server's --metric-resolution; 15s when 0).
	MetricResolution time.Duration
	// WatchQueueLength bounds the events a watch holds for a client that does not read before the
	// server closes it (`--watch-queue-length`; watchbuffer.MaxQueued when 0).
	WatchQueueLength int
	// EtcdCompactionInterval is how often the API server compacts etcd's history to the
	// revision of its previous round (kube-apiserver's --etcd-compaction-interval, 5 minutes; 0
	// turns it off, and etcd's history then grows until something else compacts it). The embedded
	// members do not compact on their own: one compaction a round, coordinated among the API
	// servers of a cluster by upstream's compactor.
	EtcdCompactionInterval time.Duration
	// EtcdCompactionBatchLimit and EtcdCompactionSleepInterval pace the embedded member's
	// deletion of compacted revisions (etcd's --compaction-batch-limit and
	// --compaction-sleep-interval; 0: etcd's 1,000 revisions a batch and 10 ms between batches).
	EtcdCompactionBatchLimit    int
	EtcdCompactionSleepInterval time.Duration
	// EtcdForTests tunes the embedded single etcd member for in-process tests (etcd.Config.ForTests).
	EtcdForTests bool
	// Hardening holds the audit log, encryption at rest and request limits (hardening.go).
	Hardening HardeningOptions
	// SchedulerDiagnoses, when set, are the in-process scheduler's last diagnoses of the pods it
	// could not place, for /insight/v1/why (cmd/skiff gives the scheduler the same store).
	SchedulerDiagnoses scheddiag.Source
}

// NewOptions returns the defaults: data dir ~/.skiff, port 6443, embedded etcd on 2379/2380.
func NewOptions() *Options {
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/root"
	}
	return &Options{
		DataDir:                filepath.Join(home, ".skiff"),
		BindAddress:            net.IPv4zero,
		SecurePort:             6443,
		EtcdClientPort:         2379,
		EtcdPeerPort:           2380,
		Version:                KubernetesVersion,
		ServiceClusterIPRange:  "10.96.0.0/12",
		ServiceAccountIssuer:   "https://kubernetes.default.svc.cluster.local",
		ServiceNodePortRange:   "30000-32767",
		Hardening:              NewHardeningOptions(),
		EtcdCompactionInterval: DefaultEtcdCompactionInterval,
	}
}

// DefaultEtcdCompactionInterval is kube-apiserver's --etcd-compaction-interval.
const DefaultEtcdCompactionInterval = 5 * time.Minute

// KubernetesVersion is the upstream release whose libraries and API Skiff serves.
const KubernetesVersion = "1.37.2"

// Validate reports invalid settings.
func (o *Options) Validate() error {
	if o.DataDir == "" {
		return fmt.Errorf("--data-dir must not be empty")
	}
	if o.AdvertiseAddress != "" && net.ParseIP(o.AdvertiseAddress) == nil {
		return fmt.Errorf("--advertise-address %q is not an IP address", o.AdvertiseAddress)
	}
	if o.SecurePort < 0 || o.SecurePort > 65535 {
		return fmt.Errorf("--secure-port %d is out of range", o.SecurePort)
	}
	if o.EtcdCompactionInterval < 0 {
		return fmt.Errorf("--etcd-compaction-interval %s must not be negative", o.EtcdCompactionInterval)
	}
	if o.EtcdCompactionBatchLimit < 0 {
		return fmt.Errorf("--etcd-compaction-batch-limit %d must not be negative", o.EtcdCompactionBatchLimit)
	}
	if o.EtcdCompactionSleepInterval < 0 {
		return fmt.Errorf("--etcd-compaction-sleep-interval %s must not be negative", o.EtcdCompactionSleepInterval)
	}
	return nil
}

// KubeconfigPath is where the admin kubeconfig is written.
func (o *Options) KubeconfigPath() string { return filepath.Join(o.DataDir, "kubeconfig") }

// ControllerManagerKubeconfigPath is the controllers' kubeconfig (user system:kube-controller-manager).
func (o *Options) ControllerManagerKubeconfigPath() string {
	return filepath.Join(o.DataDir, "controller-manager.kubeconfig")
}

// KubeDNSKubeconfigPath is the cluster DNS server's kubeconfig (user system:kube-dns).
func (o *Options) KubeDNSKubeconfigPath() string {
	return filepath.Join(o.DataDir, "kube-dns.kubeconfig")
}

func (o *Options) pkiDir() string  { return filepath.Join(o.DataDir, "pki") }
func (o *Options) etcdDir() string { return filepath.Join(o.DataDir, "etcd") }

// AdvertiseIP is AdvertiseAddress, or the host's primary IP, or nil when there is none.
func (o *Options) AdvertiseIP() net.IP { return o.advertiseIP() }

// advertiseIP is AdvertiseAddress, or the host's primary IP, or nil when there is none.
func (o *Options) advertiseIP() net.IP {
	if o.AdvertiseAddress != "" {
		return net.ParseIP(o.AdvertiseAddress)
	}
	if ip, err := utilnet.ChooseHostInterface(); err == nil {
		return ip
	}
	// No default route (an offline machine): the first global IPv4 address of an interface that is up.
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
				return n.IP
			}
		}
	}
	return nil
}

// kubeconfigHost is the host the admin kubeconfig uses: loopback when the server listens there.
func (o *Options) kubeconfigHost() string {
	if o.BindAddress.IsUnspecified() || o.BindAddress.IsLoopback() {
		return "127.0.0.1"
	}
	return o.BindAddress.String()
}
