package etcd

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
)

// Config is an embedded etcd member's configuration.
type Config struct {
	// Dir is the member's data directory.
	Dir string
	// Name is the member name (default "default").
	Name string
	// ClientPort and PeerPort are the member's ports; 0 picks free ports.
	ClientPort, PeerPort int
	// LogFile, when set, receives etcd's own log; otherwise only errors go to stderr.
	LogFile string
	// ClientInfoFile, when set, receives the client endpoints and credentials (ClientInfo, JSON)
	// for tools such as `skiff etcd snapshot save`.
	ClientInfoFile string
	// Cluster, when set, makes the member part of a growable etcd cluster: TLS between peers and
	// for clients, peers on the advertise address. Nil runs a single member on plain loopback.
	Cluster *Cluster
	// ForTests tunes a single member for in-process tests: 10 ms ticks (it elects itself in
	// tens of milliseconds instead of hundreds) and no fsync (a machine crash loses writes).
	ForTests bool
	// CompactionBatchLimit and CompactionSleepInterval pace the deletion of compacted revisions
	// (etcd's --compaction-batch-limit and --compaction-sleep-interval; 0: etcd's 1,000 revisions
	// and 10 ms). Each batch holds the member's write lock, which every apply needs, until the
	// batch is committed.
	CompactionBatchLimit    int
	CompactionSleepInterval time.Duration
}

// Cluster is the clustering side of a member's configuration.
type Cluster struct {
	// AdvertiseIP is the address other members and clients reach this member on.
	AdvertiseIP net.IP
	// CAFile is the etcd CA: it signs the member certificate and every client certificate.
	CAFile string
	// MemberCertFile and MemberKeyFile serve clients and peers and authenticate to peers.
	MemberCertFile, MemberKeyFile string
	// ClientCertFile and ClientKeyFile are the credentials the API server and tools use.
	ClientCertFile, ClientKeyFile string
	// InitialCluster is "name=peerURL,..." when bootstrapping a new member (ignored when the data
	// dir already holds one); Existing tells that the member joins a running cluster.
	InitialCluster string
	Existing       bool
	// PromoteVia, when set, are client URLs of running members: the new member was added as a
	// learner, and is promoted to a voting member through them once it has caught up.
	PromoteVia []string
	// LeaveOnStop removes the member from the cluster when it is closed, then deletes its etcd
	// data and calls OnLeft (`skiff server --leave`).
	LeaveOnStop bool
	OnLeft      func()
}

// ClientInfo tells clients how to reach the member.
type ClientInfo struct {
	Endpoints []string `json:"endpoints"`
	CAFile    string   `json:"caFile,omitempty"`
	CertFile  string   `json:"certFile,omitempty"`
	KeyFile   string   `json:"keyFile,omitempty"`
}

// TLS returns the clients' TLS configuration, nil without TLS.
func (ci ClientInfo) TLS() (*tls.Config, error) {
	if ci.CAFile == "" {
		return nil, nil
	}
	info := transport.TLSInfo{CertFile: ci.CertFile, KeyFile: ci.KeyFile, TrustedCAFile: ci.CAFile}
	cfg, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("etcd client TLS: %w", err)
	}
	return cfg, nil
}

// ClientConfig returns an etcd client configuration for the member.
func (ci ClientInfo) ClientConfig() (clientv3.Config, error) {
	tlsCfg, err := ci.TLS()
	if err != nil {
		return clientv3.Config{}, err
	}
	return clientv3.Config{Endpoints: ci.Endpoints, TLS: tlsCfg, DialTimeout: 5 * time.Second, Logger: zap.NewNop()}, nil
}

// NewClient connects a client to the member (ClientConfig, then clientv3.New).
func (ci ClientInfo) NewClient() (*clientv3.Client, error) {
	cc, err := ci.ClientConfig()
	if err != nil {
		return nil, err
	}
	cli, err := clientv3.New(cc)
	if err != nil {
		return nil, fmt.Errorf("etcd client for %v: %w", ci.Endpoints, err)
	}
	return cli, nil
}

// ReadClientInfo reads a file written through Config.ClientInfoFile.
func ReadClientInfo(path string) (ClientInfo, error) {
	var ci ClientInfo
	b, err := os.ReadFile(path)
	if err != nil {
		return ci, err
	}
	if err := json.Unmarshal(b, &ci); err != nil {
		return ci, fmt.Errorf("parsing %s: %w", path, err)
	}
	if len(ci.Endpoints) == 0 {
		return ci, fmt.Errorf("%s names no etcd endpoint", path)
	}
	return ci, nil
}

// Server is a running embedded etcd member.
type Server struct {
	etcd *embed.Etcd
	// leave is the member's Cluster when it leaves the cluster on Close; dir is its data dir.
	leave *Cluster
	dir   string
	// Endpoints are the client URLs to give to local etcd clients (the API server).
	Endpoints []string
	// Client tells clients how to reach the member.
	Client ClientInfo
}

// Member is one member of the etcd cluster.
type Member struct {
	ID         uint64
	Name       string
	PeerURLs   []string
	ClientURLs []string
	IsLearner  bool
}

// Start starts the member and waits until it serves clients.
func Start(ctx context.Context, c Config) (*Server, error) {
	if c.Name == "" {
		c.Name = "default"
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating etcd dir: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Name = c.Name
	cfg.Dir = c.Dir
	// Nothing is acknowledged before it is on disk: etcd fsyncs its WAL before it answers.
	cfg.UnsafeNoFsync = false
	// No compaction of its own: the API server compacts every five minutes (upstream's compactor,
	// one round for all API servers of a cluster), as under kube-apiserver, whose etcd runs
	// without --auto-compaction-retention. Each compaction scans every key of the database, so
	// two compactors cost two scans a round.
	cfg.AutoCompactionMode, cfg.AutoCompactionRetention = embed.CompactorModePeriodic, "0"
	cfg.QuotaBackendBytes = 8 << 30
	cfg.CompactionBatchLimit, cfg.CompactionSleepInterval = c.CompactionBatchLimit, c.CompactionSleepInterval
	// etcd's default 1.5 MiB request limit, as under kube-apiserver: larger objects are refused
	// with "etcdserver: request is too large" (bodies themselves are capped at 3 MiB).
	cfg.MaxRequestBytes = 1536 * 1024
	if c.ForTests && c.Cluster == nil {
		cfg.TickMs, cfg.ElectionMs = 10, 100
		cfg.UnsafeNoFsync = true
	}
	logger, err := newLogger(c.LogFile)
	if err != nil {
		return nil, err
	}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(logger)
	var e *embed.Etcd
	var client ClientInfo
	for attempt := 1; ; attempt++ {
		clientPort, peerPort := c.ClientPort, c.PeerPort
		if clientPort == 0 {
			if clientPort, err = pickPort(); err != nil {
				return nil, err
			}
		}
		if peerPort == 0 {
			if peerPort, err = pickPort(); err != nil {
				return nil, err
			}
		}
		client = listenOn(cfg, c, clientPort, peerPort)
		e, err = embed.StartEtcd(cfg)
		// A port found free can be taken before etcd listens on it (tests in parallel
		// processes): ports of its own choosing are chosen again.
		if err == nil || attempt == 5 || !errors.Is(err, syscall.EADDRINUSE) || (c.ClientPort != 0 && c.PeerPort != 0) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("starting embedded etcd in %s: %w", c.Dir, err)
	}
	s := &Server{etcd: e, Endpoints: client.Endpoints, Client: client, dir: c.Dir}
	if c.Cluster != nil && c.Cluster.LeaveOnStop {
		s.leave = c.Cluster
	}
	if c.Cluster != nil && len(c.Cluster.PromoteVia) > 0 {
		// A learner does not become ready before it is promoted: promote it while waiting.
		go s.promote(ctx, c.Cluster.PromoteVia)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd failed: %w", err)
	case <-time.After(90 * time.Second):
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s not ready after 90s", c.Dir)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	if c.Cluster != nil && len(c.Cluster.PromoteVia) > 0 {
		if err := s.waitVoter(ctx); err != nil {
			e.Close()
			return nil, err
		}
	}
	if c.Cluster != nil && len(c.Cluster.PromoteVia) == 0 {
		if err := s.updatePeerURL(ctx, cfg.AdvertisePeerUrls[0].String()); err != nil {
			e.Close()
			return nil, err
		}
	}
	if c.ClientInfoFile != "" {
		if err := writeJSON(c.ClientInfoFile, client); err != nil {
			e.Close()
			return nil, err
		}
	}
	return s, nil
}

// listenOn sets cfg's client and peer URLs for c on the two ports and returns how clients
// reach the member.
func listenOn(cfg *embed.Config, c Config, clientPort, peerPort int) ClientInfo {
	loopback := net.ParseIP("127.0.0.1")
	var client ClientInfo
	if cl := c.Cluster; cl != nil {
		adv := cl.AdvertiseIP
		if adv == nil {
			adv = loopback
		}
		local := url.URL{Scheme: "https", Host: net.JoinHostPort(loopback.String(), strconv.Itoa(clientPort))}
		cu := url.URL{Scheme: "https", Host: net.JoinHostPort(adv.String(), strconv.Itoa(clientPort))}
		pu := url.URL{Scheme: "https", Host: net.JoinHostPort(adv.String(), strconv.Itoa(peerPort))}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{local}, []url.URL{cu}
		if !adv.IsLoopback() {
			cfg.ListenClientUrls = append(cfg.ListenClientUrls, cu)
		}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
		ti := transport.TLSInfo{CertFile: cl.MemberCertFile, KeyFile: cl.MemberKeyFile, TrustedCAFile: cl.CAFile, ClientCertAuth: true}
		cfg.ClientTLSInfo, cfg.PeerTLSInfo = ti, ti
		cfg.InitialCluster = cl.InitialCluster
		if cfg.InitialCluster == "" {
			cfg.InitialCluster = c.Name + "=" + pu.String()
		}
		cfg.InitialClusterToken = "skiff"
		cfg.ClusterState = embed.ClusterStateFlagNew
		if cl.Existing {
			cfg.ClusterState = embed.ClusterStateFlagExisting
		}
		// Members on one machine (tests) and on a LAN: upstream's defaults (100 ms heartbeat,
		// 1 s election timeout) let a new leader be elected within seconds of a member's loss.
		cfg.StrictReconfigCheck = true
		client = ClientInfo{Endpoints: []string{local.String()}, CAFile: cl.CAFile, CertFile: cl.ClientCertFile, KeyFile: cl.ClientKeyFile}
	} else {
		cu := url.URL{Scheme: "http", Host: net.JoinHostPort(loopback.String(), strconv.Itoa(clientPort))}
		pu := url.URL{Scheme: "http", Host: net.JoinHostPort(loopback.String(), strconv.Itoa(peerPort))}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
		cfg.InitialCluster = cfg.InitialClusterFromName(c.Name)
		client = ClientInfo{Endpoints: []string{cu.String()}}
	}
	return client
}

// promote turns this learner into a voting member through the other members, retrying while
// it catches up with the leader.
func (s *Server) promote(ctx context.Context, via []string) {
	cli, err := ClientInfo{Endpoints: via, CAFile: s.tlsCA(), CertFile: s.clientCert(), KeyFile: s.clientKey()}.NewClient()
	if err != nil {
		return
	}
	defer cli.Close()
	id := uint64(s.etcd.Server.MemberID())
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := cli.MemberPromote(rctx, id)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.etcd.Server.StopNotify():
			return
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// updatePeerURL makes the member's peer URL in the membership the advertised one: a data dir
// that ran as a single server (or was restored from a snapshot) knows a loopback http URL.
func (s *Server) updatePeerURL(ctx context.Context, want string) error {
	for _, m := range s.Members() {
		if m.ID != s.ID() || len(m.PeerURLs) == 1 && m.PeerURLs[0] == want {
			continue
		}
		cli, err := s.Client.NewClient()
		if err != nil {
			return err
		}
		defer cli.Close()
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if _, err := cli.MemberUpdate(rctx, m.ID, []string{want}); err != nil {
			return fmt.Errorf("updating this member's peer URL from %v to %s: %w", m.PeerURLs, want, err)
		}
	}
	return nil
}

// waitVoter waits until the member is no longer a learner.
func (s *Server) waitVoter(ctx context.Context) error {
	deadline := time.Now().Add(90 * time.Second)
	for s.etcd.Server.IsLearner() {
		if time.Now().After(deadline) {
			return fmt.Errorf("the new etcd member was not promoted from learner within 90s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-s.etcd.Err():
			return fmt.Errorf("embedded etcd failed: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

func (s *Server) tlsCA() string      { return s.etcd.Config().PeerTLSInfo.TrustedCAFile }
func (s *Server) clientCert() string { return s.etcd.Config().PeerTLSInfo.CertFile }
func (s *Server) clientKey() string  { return s.etcd.Config().PeerTLSInfo.KeyFile }

// LocalClient returns a client whose calls go straight to the member's v3 RPC implementation,
// without gRPC (etcd's v3client; apiserver/localstore). The caller closes it.
func (s *Server) LocalClient() *clientv3.Client { return v3client.New(s.etcd.Server) }

// Err reports a fatal error of the running member.
func (s *Server) Err() <-chan error { return s.etcd.Err() }

// Close stops the member, waiting for in-flight requests; a member that leaves on stop first
// removes itself from the cluster, and afterwards deletes its etcd data.
func (s *Server) Close() {
	if s.leave == nil {
		s.etcd.Close()
		return
	}
	err := s.removeSelf()
	// 15 s: on a loaded machine the member applies its own removal seconds after it answered
	// (a CI run saw 5 s pass, and the member kept its state file though it had left).
	if err != nil && s.removed(15*time.Second) {
		// The removal went through even though its answer was lost: a member that removes
		// itself stops serving, possibly before it answers.
		err = nil
	}
	s.etcd.Close()
	log := klog.Background()
	if err != nil {
		log.Error(err, "Leaving the etcd cluster failed: remove the member with `skiff etcd member remove` on another member")
		return
	}
	log.Info("Left the etcd cluster", "member", fmt.Sprintf("%x", s.ID()))
	if err := os.RemoveAll(s.dir); err != nil {
		log.Error(err, "Removing the etcd data of the departed member")
	}
	if s.leave.OnLeft != nil {
		s.leave.OnLeft()
	}
}

// removeSelf removes this member from the cluster through its own client endpoint.
func (s *Server) removeSelf() error {
	cli, err := s.Client.NewClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		_, err := cli.MemberRemove(ctx, s.ID())
		// etcd refuses a removal while the member has been connected to its peers for less than
		// its health interval (5 s; a member that just started): retry until then.
		if err == nil || !errors.Is(err, rpctypes.ErrUnhealthy) && !errors.Is(err, rpctypes.ErrGRPCUnhealthy) {
			if err != nil {
				return fmt.Errorf("removing member %x: %w", s.ID(), err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("removing member %x: %w", s.ID(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// removed reports whether this member has seen its own removal applied, waiting up to d.
func (s *Server) removed(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if s.etcd.Server.Cluster().Member(s.etcd.Server.MemberID()) == nil {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond) // polling the member's own view of the cluster
	}
}

// ID is the member's ID.
func (s *Server) ID() uint64 { return uint64(s.etcd.Server.MemberID()) }

// IsLeader tells whether this member is the raft leader.
func (s *Server) IsLeader() bool { return s.etcd.Server.Leader() == s.etcd.Server.MemberID() }

// Members lists the cluster's members as this member knows them.
func (s *Server) Members() []Member {
	var out []Member
	for _, m := range s.etcd.Server.Cluster().Members() {
		out = append(out, Member{ID: uint64(m.ID), Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs, IsLearner: m.IsLearner})
	}
	return out
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func newLogger(file string) (*zap.Logger, error) {
	cfg := zap.NewProductionConfig()
	cfg.Sampling = nil
	cfg.Level = zap.NewAtomicLevelAt(zapcore.ErrorLevel)
	if file != "" {
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return nil, fmt.Errorf("creating log dir: %w", err)
		}
		cfg.Level = zap.NewAtomicLevelAt(zapcore.InfoLevel)
		cfg.OutputPaths = []string{file}
		cfg.ErrorOutputPaths = []string{file}
	}
	l, err := cfg.Build()
	if err != nil {
		return nil, fmt.Errorf("building etcd logger: %w", err)
	}
	return l, nil
}

// pickPort is freePort; tests replace it.
var pickPort = freePort

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
