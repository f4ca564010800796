package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/resourcemetrics"
	"github.com/skiff-dev/skiff/apiserver/watchbuffer"
	"github.com/skiff-dev/skiff/controllers/certificates"
	"github.com/skiff-dev/skiff/controllers/controllermanager"
	"github.com/skiff-dev/skiff/insight/scheddiag"
)

func kubernetesVersion() string { return apiserver.KubernetesVersion }

// controlPlaneFlags binds the API server's options to flags.
func controlPlaneFlags(fs *pflag.FlagSet, o *apiserver.Options) {
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "Directory for etcd data, certificates and the admin kubeconfig.")
	fs.IPVar(&o.BindAddress, "bind-address", o.BindAddress, "Address the API server listens on.")
	fs.IntVar(&o.SecurePort, "secure-port", o.SecurePort, "Port of the HTTPS API (0: any free port).")
	fs.StringVar(&o.AdvertiseAddress, "advertise-address", o.AdvertiseAddress,
		"Address other machines and pods reach the API server on (default: this host's primary IP).")
	fs.StringSliceVar(&o.EtcdServers, "etcd-servers", o.EtcdServers, "External etcd client URLs; when empty an embedded etcd runs under the data dir.")
	fs.IntVar(&o.EtcdClientPort, "etcd-client-port", o.EtcdClientPort, "Loopback client port of the embedded etcd (0: any free port).")
	fs.DurationVar(&o.EtcdCompactionInterval, "etcd-compaction-interval", o.EtcdCompactionInterval,
		"How often the API server compacts etcd's history (kube-apiserver's flag; 0 turns compaction off).")
	fs.IntVar(&o.EtcdCompactionBatchLimit, "etcd-compaction-batch-limit", o.EtcdCompactionBatchLimit,
		"Revisions the embedded etcd member deletes in each batch of a compaction (etcd's --compaction-batch-limit; 0: etcd's 1000).")
	fs.DurationVar(&o.EtcdCompactionSleepInterval, "etcd-compaction-sleep-interval", o.EtcdCompactionSleepInterval,
		"Pause of the embedded etcd member between the batches of a compaction (etcd's --compaction-sleep-interval; 0: etcd's 10ms).")
	fs.IntVar(&o.EtcdPeerPort, "etcd-peer-port", o.EtcdPeerPort, "Loopback peer port of the embedded etcd (0: any free port).")
	fs.StringVar(&o.ServiceClusterIPRange, "service-cluster-ip-range", o.ServiceClusterIPRange, "IPv4 CIDR of service ClusterIPs.")
	fs.Int64Var(&o.DefaultNotReadyTolerationSeconds, "default-not-ready-toleration-seconds", tolerationDefault(o.DefaultNotReadyTolerationSeconds),
		"Seconds pods tolerate the node.kubernetes.io/not-ready:NoExecute taint, given to every pod without such a toleration.")
	fs.Int64Var(&o.DefaultUnreachableTolerationSeconds, "default-unreachable-toleration-seconds", tolerationDefault(o.DefaultUnreachableTolerationSeconds),
		"Seconds pods tolerate the node.kubernetes.io/unreachable:NoExecute taint, given to every pod without such a toleration.")
	fs.StringVar(&o.ServiceAccountIssuer, "service-account-issuer", o.ServiceAccountIssuer, "Issuer (iss claim) of service account tokens, also the API's audience.")
	fs.DurationVar(&o.ServiceAccountMaxTokenExpiration, "service-account-max-token-expiration", o.ServiceAccountMaxTokenExpiration, "Longest validity of a requested service account token (0: no limit).")
	o.Hardening.AddFlags(fs)
	fs.StringVar(&o.ServiceNodePortRange, "service-node-port-range", o.ServiceNodePortRange, "Port range reserved for services with NodePort visibility (inclusive, e.g. 30000-32767).")
	fs.BoolVar(&o.DisableDefaultStorageClass, "disable-default-storage-class", o.DisableDefaultStorageClass,
		"Do not create the default StorageClass local-path (provisioner skiff.dev/local-path) at start.")
	fs.BoolVar(&o.DisableIngress, "disable-ingress", o.DisableIngress,
		"Turn the built-in ingress controller off: no default IngressClass skiff at start, no Ingress status controller (and, with skiff up, no ingress controller on the node).")
	fs.BoolVar(&o.DisableMetricsAPI, "disable-metrics-api", o.DisableMetricsAPI,
		"Do not serve the built-in metrics.k8s.io (kubectl top; scraped from the nodes' /metrics/resource), so that metrics-server can serve it instead.")
	fs.DurationVar(&o.MetricResolution, "metric-resolution", resourcemetrics.DefaultResolution,
		"How often the built-in metrics API scrapes every node's /metrics/resource (metrics-server's --metric-resolution).")
	fs.IntVar(&o.WatchQueueLength, "watch-queue-length", watchbuffer.MaxQueued,
		"How many events a watch may hold for a client that does not read before the server closes it (the client then watches again from its last resourceVersion).")
	fs.BoolVar(&o.DisablePodSecurityAdmission, "disable-pod-security-admission", o.DisablePodSecurityAdmission,
		"Turn the PodSecurity admission plugin off (kube-apiserver's --disable-admission-plugins=PodSecurity).")
}

// controlPlane is what `skiff server` and `skiff up` run.
type controlPlane struct {
	api         *apiserver.Options
	controllers controllermanager.Config
	// cluster makes a highly available control plane (`skiff server --cluster-init|--join`).
	cluster clusterOptions
	// dns is the cluster DNS server every control-plane process runs.
	dns clusterDNSOptions
	// extra runs beside the control plane once the API is ready.
	extra []func(ctx context.Context, cfg *apiserver.Config) error
	// progress, when set (`skiff up`), prints a short line for each step.
	progress *progress
}

func newControlPlane() *controlPlane {
	api := apiserver.NewOptions()
	// The controllers run in this process: their metrics join the API server's /metrics.
	api.ExtraMetrics = append(api.ExtraMetrics, ctrlmetrics.Registry)
	controllers := controllermanager.DefaultConfig()
	// The scheduler's last diagnosis of each pod it could not place reaches the API server's
	// /insight/v1/why through one store (neither side imports the other).
	diagnoses := scheddiag.NewStore(0)
	api.SchedulerDiagnoses, controllers.SchedulerDiagnoses = diagnoses, diagnoses
	return &controlPlane{api: api, controllers: controllers}
}

func (p *controlPlane) flags(fs *pflag.FlagSet) {
	controlPlaneFlags(fs, p.api)
	tracingFlags(fs)
	clusterDNSFlags(fs, &p.dns)
	controllerFlags(fs, &p.controllers)
}

func newServerCommand() *cobra.Command {
	p := newControlPlane()
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: embedded etcd, the API server, the controllers and the scheduler",
		RunE: func(cmd *cobra.Command, args []string) error {
			return p.run(cmd.Context(), cmd)
		},
	}
	p.flags(cmd.Flags())
	p.cluster.flags(cmd.Flags())
	return cmd
}

// run starts the API server, then the controllers and any extras, and blocks until the context
// ends or one of them fails.
func (p *controlPlane) run(ctx context.Context, cmd *cobra.Command) error {
	startProfile()
	defer stopStartProfile()
	apiserver.TuneGC(ctx)
	if err := p.controllers.NodeIPAM.Validate(); err != nil {
		return err
	}
	p.controllers.DisableIngress = p.api.DisableIngress
	// Node subnets stay out of the service range, as kube-controller-manager's.
	p.controllers.NodeIPAM.ServiceCIDR = p.api.ServiceClusterIPRange
	if err := p.cluster.apply(ctx, p.api); err != nil {
		return err
	}
	var err error
	if p.api.Tracing, err = processTracer(ctx); err != nil {
		return err
	}
	p.progress.step("Starting etcd (data in %s)", p.api.DataDir)
	cfg, err := p.api.Config(ctx)
	if err != nil {
		return err
	}
	srv, err := cfg.Complete().New()
	if err != nil {
		cfg.Close()
		return err
	}
	p.progress.step("etcd is ready; starting the API server")
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Start(gctx) })
	select {
	case <-srv.Ready():
	case <-gctx.Done():
		return g.Wait()
	}
	p.progress.step("API server is ready on %s", cfg.ServerURL())
	if err := installCRDs(gctx, cfg.AdminKubeconfig); err != nil {
		return err
	}
	cmKubeconfig := p.api.ControllerManagerKubeconfigPath()
	restCfg, err := clientcmd.BuildConfigFromFlags("", cmKubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", cmKubeconfig, err)
	}
	// The controllers run beside the CA: node certificates are signed with it.
	p.controllers.CertificateSigner = certificates.NewCASigner(cfg.CA.Cert, cfg.CA.Key)
	// Every namespace's kube-root-ca.crt publishes the cluster CA for pods.
	p.controllers.RootCA = cfg.CA.CertPEM
	// Service-account-token Secrets are signed with the API server's key.
	if signer := cfg.ServiceAccountSigner(); signer != nil {
		p.controllers.ServiceAccountTokenSigner = signer
	}
	g.Go(func() error { return controllermanager.Start(gctx, restCfg, p.controllers) })
	p.progress.step("Controllers and scheduler started")
	g.Go(func() error { return runClusterDNS(gctx, cfg, p.dns, p.progress) })
	for _, run := range p.extra {
		g.Go(func() error { return run(gctx, cfg) })
	}
	stopStartProfile()
	fmt.Fprintf(cmd.OutOrStdout(), "Skiff is ready. Kubeconfig: %s\n  export KUBECONFIG=%s\n", cfg.AdminKubeconfig, cfg.AdminKubeconfig)
	err = g.Wait()
	klog.FromContext(ctx).Info("Stopped")
	if ctx.Err() != nil {
		return nil
	}
	return err
}
