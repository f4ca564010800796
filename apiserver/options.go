package apiserver

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// Options are the API server's settings, as flags set them.
type Options struct {
	// DataDir holds pki/, etcd/ and the admin kubeconfig.
	DataDir string
	// BindAddress and SecurePort are where the API is served.
	BindAddress net.IP
	SecurePort  int
	// AdvertiseAddress is the address written into kubeconfigs (default 127.0.0.1).
	AdvertiseAddress string
	// EtcdServers, when set, points at an external etcd instead of the embedded member.
	EtcdServers []string
	// EtcdClientPort and EtcdPeerPort are the embedded member's loopback ports (0: any free port).
	EtcdClientPort, EtcdPeerPort int
	// Version is the Kubernetes version reported by /version.
	Version string
}

// NewOptions returns the defaults: data dir ~/.skiff, port 6443, embedded etcd on 2379/2380.
func NewOptions() *Options {
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/root"
	}
	return &Options{
		DataDir:          filepath.Join(home, ".skiff"),
		BindAddress:      net.IPv4zero,
		SecurePort:       6443,
		AdvertiseAddress: "127.0.0.1",
		EtcdClientPort:   2379,
		EtcdPeerPort:     2380,
		Version:          KubernetesVersion,
	}
}

// KubernetesVersion is the upstream release whose libraries and API Skiff serves.
const KubernetesVersion = "1.37.2"

// Validate reports invalid settings.
func (o *Options) Validate() error {
	if o.DataDir == "" {
		return fmt.Errorf("--data-dir must not be empty")
	}
	if o.SecurePort < 0 || o.SecurePort > 65535 {
		return fmt.Errorf("--secure-port %d is out of range", o.SecurePort)
	}
	return nil
}

// KubeconfigPath is where the admin kubeconfig is written.
func (o *Options) KubeconfigPath() string { return filepath.Join(o.DataDir, "kubeconfig") }

func (o *Options) pkiDir() string  { return filepath.Join(o.DataDir, "pki") }
func (o *Options) etcdDir() string { return filepath.Join(o.DataDir, "etcd") }
