package controllermanager

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/certificates"
	"github.com/skiff-dev/skiff/controllers/clusterroleaggregation"
	"github.com/skiff-dev/skiff/controllers/cronjob"
	"github.com/skiff-dev/skiff/controllers/csrcleaner"
	"github.com/skiff-dev/skiff/controllers/daemonset"
	"github.com/skiff-dev/skiff/controllers/deployment"
	"github.com/skiff-dev/skiff/controllers/disruption"
	"github.com/skiff-dev/skiff/controllers/endpoints"
	"github.com/skiff-dev/skiff/controllers/ephemeral"
	"github.com/skiff-dev/skiff/controllers/garbagecollector"
	"github.com/skiff-dev/skiff/controllers/ingress"
	"github.com/skiff-dev/skiff/controllers/job"
	"github.com/skiff-dev/skiff/controllers/namespace"
	"github.com/skiff-dev/skiff/controllers/nodeipam"
	"github.com/skiff-dev/skiff/controllers/nodelifecycle"
	"github.com/skiff-dev/skiff/controllers/persistentvolume"
	"github.com/skiff-dev/skiff/controllers/podautoscaler"
	"github.com/skiff-dev/skiff/controllers/replicaset"
	"github.com/skiff-dev/skiff/controllers/resourcequota"
	"github.com/skiff-dev/skiff/controllers/scheduler"
	"github.com/skiff-dev/skiff/controllers/serviceaccount"
	"github.com/skiff-dev/skiff/controllers/servicelb"
	"github.com/skiff-dev/skiff/controllers/statefulset"
	"github.com/skiff-dev/skiff/controllers/ttlafterfinished"
	"github.com/skiff-dev/skiff/controllers/validatingadmissionpolicystatus"
	"github.com/skiff-dev/skiff/insight/scheddiag"
)

// Config holds the manager options and the timings tests and users may shorten.
type Config struct {
	Manager controllers.Options
	// NodeMonitorGracePeriod is how long a node's Lease may go unrenewed before it is NotReady
	// (upstream's --node-monitor-grace-period, 50 s).
	NodeMonitorGracePeriod time.Duration
	// NodeMonitorPeriod is how often node health is checked (5 s).
	NodeMonitorPeriod time.Duration
	// TerminatedPodGCThreshold is how many terminated pods may exist before the oldest are
	// deleted (upstream's --terminated-pod-gc-threshold, 12500; 0 or less: never).
	TerminatedPodGCThreshold int
	// SkipNameValidation lets several managers run in one process (tests).
	SkipNameValidation bool
	// CertificateSigner signs approved node certificates (the cluster CA); when nil, node CSRs
	// are approved but not signed.
	CertificateSigner certificates.Signer
	// RootCA is the CA bundle published in every namespace's kube-root-ca.crt ConfigMap; empty:
	// the CA of the manager's kubeconfig.
	RootCA []byte
	// ServiceAccountTokenSigner, when set, runs the tokens controller, which fills in
	// kubernetes.io/service-account-token Secrets (the API server's signer, in the same process).
	ServiceAccountTokenSigner serviceaccount.LegacyTokenSigner
	// GarbageCollector configures the garbage collector (zero: upstream's defaults).
	GarbageCollector garbagecollector.Config
	// LoadBalancer is the cloud provider of type LoadBalancer Services; nil: the built-in local
	// provider (the nodes' InternalIPs as ingress).
	LoadBalancer servicelb.LoadBalancer
	// NodeIPAM gives Nodes their podCIDRs from the cluster CIDR (zero: off).
	NodeIPAM nodeipam.Config
	// DisableIngress turns off the status controller of the built-in ingress controller.
	DisableIngress bool
	// PodAutoscaler holds the horizontal pod autoscaler's timings and tolerance.
	PodAutoscaler podautoscaler.Settings
	// SchedulerDiagnoses, when set, receives the scheduler's last diagnosis of each pod it could
	// not place (the API server of the same process reads them for `skiff why`).
	SchedulerDiagnoses scheddiag.Recorder
}

// DefaultConfig is upstream's defaults.
func DefaultConfig() Config {
	return Config{Manager: controllers.DefaultOptions(), NodeMonitorGracePeriod: 50 * time.Second, NodeMonitorPeriod: 5 * time.Second,
		TerminatedPodGCThreshold: 12500, NodeIPAM: nodeipam.DefaultConfig(), PodAutoscaler: podautoscaler.DefaultSettings()}
}

// Setup adds every controller to mgr.
func Setup(mgr manager.Manager, c Config) error {
	steps := []struct {
		name  string
		setup func() error
	}{
		{"replicaset", func() error {
			return (&replicaset.Reconciler{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}}).SetupWithManager(mgr)
		}},
		{"replicationcontroller", func() error {
			return (&replicaset.Reconciler{Kind: replicaset.ReplicationControllers, Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}}).SetupWithManager(mgr)
		}},
		{"deployment", func() error {
			return (&deployment.Reconciler{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}}).SetupWithManager(mgr)
		}},
		{"job", func() error {
			return (&job.Reconciler{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}}).SetupWithManager(mgr)
		}},
		{"cronjob", func() error {
			return (&cronjob.Reconciler{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}}).SetupWithManager(mgr)
		}},
		{"ttlafterfinished", func() error {
			return (&ttlafterfinished.Reconciler{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}}).SetupWithManager(mgr)
		}},
		{"daemonset", func() error {
			return (&daemonset.Reconciler{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}}).SetupWithManager(mgr)
		}},
		{"endpoints", func() error {
			return (&endpoints.Reconciler{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}}).SetupWithManager(mgr)
		}},
		{"garbagecollector", func() error { return garbagecollector.SetupWithManager(mgr, c.GarbageCollector) }},
		{"namespace", func() error {
			return namespace.SetupWithManager(mgr, namespace.Config{SkipNameValidation: c.SkipNameValidation})
		}},
		{"nodelifecycle", func() error {
			return nodelifecycle.New(nodelifecycle.Config{GracePeriod: c.NodeMonitorGracePeriod, MonitorPeriod: c.NodeMonitorPeriod,
				TerminatedPodGCThreshold: c.TerminatedPodGCThreshold}).SetupWithManager(mgr)
		}},
		{"nodeipam", func() error {
			return (&nodeipam.Controller{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}, Config: c.NodeIPAM}).SetupWithManager(mgr)
		}},
		{"scheduler", func() error {
			return scheduler.New(scheduler.Config{Diagnoses: c.SchedulerDiagnoses}).SetupWithManager(mgr)
		}},
		{"servicelb", func() error {
			return (&servicelb.Controller{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}, Provider: c.LoadBalancer}).SetupWithManager(mgr)
		}},
		{"ingress-status", func() error {
			if c.DisableIngress {
				return nil
			}
			return (&ingress.Controller{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}}).SetupWithManager(mgr)
		}},
		{"fault", func() error { return setupFault(mgr, c) }},
		{"validatingadmissionpolicy-status", func() error {
			return (&validatingadmissionpolicystatus.Controller{SkipNameValidation: c.SkipNameValidation}).SetupWithManager(mgr)
		}},
		{"clusterroleaggregation", func() error {
			return (&clusterroleaggregation.Controller{SkipNameValidation: c.SkipNameValidation}).SetupWithManager(mgr)
		}},
		{"serviceaccount", func() error {
			return (&serviceaccount.Controller{RootCA: c.RootCA, SkipNameValidation: c.SkipNameValidation}).SetupWithManager(mgr)
		}},
		{"serviceaccount-token", func() error {
			if c.ServiceAccountTokenSigner == nil {
				return nil
			}
			return (&serviceaccount.TokensController{Signer: c.ServiceAccountTokenSigner, RootCA: c.RootCA,
				SkipNameValidation: c.SkipNameValidation}).SetupWithManager(mgr)
		}},
		{"certificates", func() error {
			return (&certificates.Controller{Signer: c.CertificateSigner, SkipNameValidation: c.SkipNameValidation}).SetupWithManager(mgr)
		}},
		{"csrcleaner", func() error {
			return (&csrcleaner.Reconciler{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}}).SetupWithManager(mgr)
		}},
		{"statefulset", func() error {
			return (&statefulset.Reconciler{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}}).SetupWithManager(mgr)
		}},
		{"resourcequota", func() error {
			return (&resourcequota.Reconciler{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}}).SetupWithManager(mgr)
		}},
		{"disruption", func() error {
			return (&disruption.Reconciler{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}}).SetupWithManager(mgr)
		}},
		{"horizontal-pod-autoscaler", func() error {
			return (&podautoscaler.Controller{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}, Settings: c.PodAutoscaler}).SetupWithManager(mgr)
		}},
		{"persistentvolume-binder", func() error {
			return (&persistentvolume.Controller{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}}).SetupWithManager(mgr)
		}},
		{"persistentvolume-protection", func() error {
			return (&persistentvolume.Protection{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}}).SetupWithManager(mgr)
		}},
		{"ephemeral-volume", func() error {
			return (&ephemeral.Reconciler{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}}).SetupWithManager(mgr)
		}},
	}
	for _, s := range steps {
		if err := s.setup(); err != nil {
			return fmt.Errorf("setting up the %s controller: %w", s.name, err)
		}
	}
	return nil
}

// Start runs every controller against cfg until ctx ends. With leader election
// (c.Manager.LeaderElection) they run only while this process holds the Lease
// kube-system/<LeaderElectionID>; a lost Lease stops them all and the process campaigns again
// (election.go) instead of ending.
func Start(ctx context.Context, cfg *rest.Config, c Config) error {
	if !c.Manager.LeaderElection {
		return runManager(ctx, cfg, c)
	}
	return runElected(ctx, cfg, c)
}

// runManager runs one manager with every controller until ctx ends (the manager has no leader
// election of its own: election.go holds the Lease). Its Start returns once every controller
// ended, or with an error when one did not within the manager's graceful shutdown timeout
// (30 s): the process then ends rather than run a second term beside it.
func runManager(ctx context.Context, cfg *rest.Config, c Config) error {
	mgr, err := controllers.NewManager(cfg, c.Manager)
	if err != nil {
		return err
	}
	if err := Setup(mgr, c); err != nil {
		return err
	}
	if err := controllers.Run(ctx, mgr); err != nil {
		return fmt.Errorf("controller manager: %w", err)
	}
	return nil
}
