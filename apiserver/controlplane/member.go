package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/etcd"
	"github.com/skiff-dev/skiff/apiserver/pki"
)

// Files of a member under the data dir.
const (
	// StateFile records that the data dir is a member of a growable cluster, and how.
	StateFile = "etcd-member.json"
	// ClientInfoFile tells tools (snapshot save) how to reach the member's etcd.
	ClientInfoFile = "etcd-client.json"
	etcdPKIDir     = "pki/etcd"
)

// State is what a member remembers between starts: its etcd member name, address and ports
// (the peer URL is part of the cluster's membership and must not change).
type State struct {
	Name        string `json:"name"`
	AdvertiseIP string `json:"advertiseIP"`
	ClientPort  int    `json:"clientPort"`
	PeerPort    int    `json:"peerPort"`
}

// PeerURL is the member's peer URL.
func (s State) PeerURL() string {
	return "https://" + net.JoinHostPort(s.AdvertiseIP, strconv.Itoa(s.PeerPort))
}

// ReadState reads dataDir's member state; os.ErrNotExist when the data dir is not clustered.
func ReadState(dataDir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, StateFile))
	if err != nil {
		return nil, err
	}
	s := &State{}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", filepath.Join(dataDir, StateFile), err)
	}
	if s.Name == "" || net.ParseIP(s.AdvertiseIP) == nil || s.PeerPort == 0 || s.ClientPort == 0 {
		return nil, fmt.Errorf("%s is incomplete", filepath.Join(dataDir, StateFile))
	}
	return s, nil
}

func writeState(dataDir string, s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(dataDir, StateFile)
	if err := os.WriteFile(p+".tmp", append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return os.Rename(p+".tmp", p)
}

// Options are a member's settings from `skiff server` flags.
type Options struct {
	DataDir string
	// Name is the etcd member name (default: the host name); unique in the cluster.
	Name string
	// AdvertiseIP is where peers and other members reach this one.
	AdvertiseIP net.IP
	// ClientPort and PeerPort are the etcd ports (0: a free port, kept across restarts).
	ClientPort, PeerPort int
	// ClusterInit makes a new growable cluster; Join (an API server URL) and Token join one.
	ClusterInit bool
	Join        string
	Token       string
	// CACertHash pins the cluster CA when joining ("sha256:<hex>"); empty trusts it on first use.
	CACertHash string
}

// Clustered tells whether dataDir already belongs to a growable cluster.
func Clustered(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, StateFile))
	return err == nil
}

// Prepare readies the member's credentials and returns the embedded etcd's cluster settings:
// for a new cluster (ClusterInit), a member joining one (Join, Token), or a data dir that is
// already a member (any later start; the flags' ports then come from the recorded state).
func Prepare(ctx context.Context, o Options) (*etcd.Cluster, *State, error) {
	log := klog.FromContext(ctx)
	if o.ClusterInit && o.Join != "" {
		return nil, nil, fmt.Errorf("--cluster-init and --join exclude each other")
	}
	st, err := ReadState(o.DataDir)
	switch {
	case err == nil:
		if o.Join != "" {
			log.Info("The data dir is already a control-plane member: ignoring --join", "member", st.Name)
		}
		if o.AdvertiseIP != nil && o.AdvertiseIP.String() != st.AdvertiseIP {
			return nil, nil, fmt.Errorf("this member's etcd peer address is %s (%s); it cannot change to --advertise-address %s", st.AdvertiseIP, filepath.Join(o.DataDir, StateFile), o.AdvertiseIP)
		}
		cl, err := memberPKI(o.DataDir, st)
		return cl, st, err
	case !errors.Is(err, os.ErrNotExist):
		return nil, nil, err
	}
	if !o.ClusterInit && o.Join == "" {
		return nil, nil, nil
	}
	st, err = newState(o)
	if err != nil {
		return nil, nil, err
	}
	if o.Join != "" {
		if hasEtcdData(o.DataDir) {
			return nil, nil, fmt.Errorf("%s already holds an etcd member of another cluster: --join needs a new data dir", o.DataDir)
		}
		cl, err := join(ctx, o, st)
		if err != nil {
			return nil, nil, err
		}
		if err := writeState(o.DataDir, st); err != nil {
			return nil, nil, err
		}
		return cl, st, nil
	}
	if _, err := pki.LoadOrCreateCA(filepath.Join(o.DataDir, etcdPKIDir), "ca", "skiff-etcd-ca"); err != nil {
		return nil, nil, err
	}
	cl, err := memberPKI(o.DataDir, st)
	if err != nil {
		return nil, nil, err
	}
	if err := writeState(o.DataDir, st); err != nil {
		return nil, nil, err
	}
	return cl, st, nil
}

func hasEtcdData(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, "etcd", "member"))
	return err == nil
}

func newState(o Options) (*State, error) {
	name := o.Name
	if name == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("no --member-name and no host name: %w", err)
		}
		name = h
	}
	adv := o.AdvertiseIP
	if adv == nil {
		return nil, fmt.Errorf("no address to advertise to other members: set --advertise-address")
	}
	st := &State{Name: name, AdvertiseIP: adv.String(), ClientPort: o.ClientPort, PeerPort: o.PeerPort}
	var err error
	if st.ClientPort == 0 {
		if st.ClientPort, err = freePort(adv); err != nil {
			return nil, err
		}
	}
	if st.PeerPort == 0 {
		if st.PeerPort, err = freePort(adv); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// memberPKI issues the member's etcd serving/peer certificate and the etcd client certificate
// (for the API server and tools) with the etcd CA, fresh at every start.
func memberPKI(dataDir string, st *State) (*etcd.Cluster, error) {
	dir := filepath.Join(dataDir, etcdPKIDir)
	ca, err := pki.LoadOrCreateCA(dir, "ca", "skiff-etcd-ca")
	if err != nil {
		return nil, err
	}
	ips := []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback, net.ParseIP(st.AdvertiseIP)}
	dns := []string{"localhost"}
	if h, err := os.Hostname(); err == nil {
		dns = append(dns, h)
	}
	cl := &etcd.Cluster{
		AdvertiseIP:    net.ParseIP(st.AdvertiseIP),
		CAFile:         filepath.Join(dir, "ca.crt"),
		MemberCertFile: filepath.Join(dir, "member.crt"), MemberKeyFile: filepath.Join(dir, "member.key"),
		ClientCertFile: filepath.Join(dir, "client.crt"), ClientKeyFile: filepath.Join(dir, "client.key"),
	}
	if err := ca.WritePair(cl.MemberCertFile, cl.MemberKeyFile, pki.CertSpec{CommonName: st.Name, DNSNames: dns, IPs: ips, Server: true, Client: true}); err != nil {
		return nil, err
	}
	if err := ca.WritePair(cl.ClientCertFile, cl.ClientKeyFile, pki.CertSpec{CommonName: "kube-apiserver-etcd-client", Client: true}); err != nil {
		return nil, err
	}
	return cl, nil
}

func freePort(ip net.IP) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		return 0, fmt.Errorf("finding a free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
