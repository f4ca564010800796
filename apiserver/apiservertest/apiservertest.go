package apiservertest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/pki"
)

// Server is a running test API server.
type Server struct {
	// DataDir is the server's data dir; start another Server on it to test restarts.
	DataDir string
	// Kubeconfig is the admin kubeconfig's path; Config is the same as a rest.Config.
	Kubeconfig string
	Config     *rest.Config
	// Client is a clientset for Config.
	Client *kubernetes.Clientset
	stop   func()
}

// Start runs a server on a new temporary data dir; it stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartOn(t, t.TempDir())
}

// StartOn runs a server on dataDir; it stops when the test ends or Stop is called.
//
// The ServiceAccount admission plugin is off, as in upstream's integration tests: no controller
// creates the namespaces' default ServiceAccounts here. StartWith turns it back on.
func StartOn(t testing.TB, dataDir string) *Server {
	t.Helper()
	return start(t, dataDir, nil)
}

// StartWith runs a server on a new temporary data dir after configure has adjusted its options
// (the ServiceAccount admission plugin enabled unless configure disables it).
func StartWith(t testing.TB, configure func(o *apiserver.Options)) *Server {
	t.Helper()
	return start(t, t.TempDir(), func(o *apiserver.Options) {
		o.DisableServiceAccountAdmission = false
		if configure != nil {
			configure(o)
		}
	})
}

// StartOnWith runs a server on dataDir after configure has adjusted its options (the
// ServiceAccount admission plugin off unless configure enables it).
func StartOnWith(t testing.TB, dataDir string, configure func(o *apiserver.Options)) *Server {
	t.Helper()
	return start(t, dataDir, configure)
}

func start(t testing.TB, dataDir string, configure func(o *apiserver.Options)) *Server {
	t.Helper()
	o := apiserver.NewOptions()
	o.DataDir = dataDir
	o.SecurePort, o.EtcdClientPort, o.EtcdPeerPort = 0, 0, 0
	o.BindAddress = []byte{127, 0, 0, 1}
	o.DisableServiceAccountAdmission = true
	o.EtcdForTests = true
	if configure != nil {
		configure(o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg, err := o.Config(ctx)
	if err != nil {
		cancel()
		t.Fatalf("configuring API server: %v", err)
	}
	srv, err := cfg.Complete().New()
	if err != nil {
		cfg.Close()
		cancel()
		t.Fatalf("creating API server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("API server stopped before ready: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("API server not ready after 60s")
	}
	restCfg, err := clientcmd.BuildConfigFromFlags("", cfg.AdminKubeconfig)
	if err != nil {
		cancel()
		t.Fatalf("loading kubeconfig: %v", err)
	}
	restCfg.QPS, restCfg.Burst = -1, 0
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		cancel()
		t.Fatalf("client: %v", err)
	}
	s := &Server{DataDir: dataDir, Kubeconfig: cfg.AdminKubeconfig, Config: restCfg, Client: client}
	var stopped bool
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("API server did not stop within 30s")
		}
	}
	t.Cleanup(s.stop)
	return s
}

// Stop shuts the server down and waits for it (and its etcd) to exit.
func (s *Server) Stop() { s.stop() }

// CA is the server's cluster CA, to issue certificates for fake node agents and clients.
func (s *Server) CA(t testing.TB) *pki.CA {
	t.Helper()
	ca, err := pki.LoadOrCreateCA(filepath.Join(s.DataDir, "pki"), "ca", "skiff-ca")
	if err != nil {
		t.Fatalf("loading the cluster CA: %v", err)
	}
	return ca
}
