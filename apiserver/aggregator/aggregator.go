package aggregator

import (
	"context"
	"fmt"

	apiextensionsinformers "k8s.io/apiextensions-apiserver/pkg/client/informers/externalversions/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/klog/v2"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	apiregistrationv1beta1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1beta1"
	aggregatorapiserver "k8s.io/kube-aggregator/pkg/apiserver"
	aggregatorscheme "k8s.io/kube-aggregator/pkg/apiserver/scheme"
	apiregistrationclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset/typed/apiregistration/v1"
	"k8s.io/kube-aggregator/pkg/controllers/autoregister"
)

// Options are what the aggregator takes from the API server it fronts.
type Options struct {
	// Generic is the core server's configuration; the aggregator runs on a shallow copy with its
	// own storage and OpenAPI handler and none of the core's post-start hooks.
	Generic *genericapiserver.RecommendedConfig
	// Etcd are the core server's etcd options; APIServices are stored as JSON under
	// <prefix>/apiregistration.k8s.io/apiservices, as kube-apiserver does.
	Etcd *genericoptions.EtcdOptions
	// ServiceResolver reaches remote APIServices' Services (shared with the webhooks').
	ServiceResolver aggregatorapiserver.ServiceResolver
	// ProxyClientCertFile and ProxyClientKeyFile are the front proxy's client certificate that
	// extension API servers authenticate (kube-apiserver's --proxy-client-cert-file).
	ProxyClientCertFile, ProxyClientKeyFile string
}

// NewConfig is the aggregator's configuration, built as kube-apiserver's createAggregatorConfig.
func NewConfig(o Options) *aggregatorapiserver.Config {
	gc := o.Generic.Config
	gc.PostStartHooks = map[string]genericapiserver.PostStartHookConfigEntry{}
	// The aggregator serves the merged OpenAPI documents itself.
	gc.SkipOpenAPIInstallation = true
	gc.MergedResourceConfig = aggregatorapiserver.DefaultAPIResourceConfigSource()

	etcd := *o.Etcd
	etcd.StorageConfig.Codec = aggregatorscheme.Codecs.LegacyCodec(apiregistrationv1.SchemeGroupVersion, apiregistrationv1beta1.SchemeGroupVersion)
	etcd.StorageConfig.EncodeVersioner = runtime.NewMultiGroupVersioner(apiregistrationv1.SchemeGroupVersion, schema.GroupKind{Group: apiregistrationv1beta1.GroupName})
	etcd.SkipHealthEndpoints = true
	gc.RESTOptionsGetter = etcd.CreateRESTOptionsGetter(&genericoptions.SimpleStorageFactory{StorageConfig: etcd.StorageConfig}, nil)

	return &aggregatorapiserver.Config{
		GenericConfig: &genericapiserver.RecommendedConfig{Config: gc, SharedInformerFactory: o.Generic.SharedInformerFactory,
			ClientConfig: o.Generic.ClientConfig},
		ExtraConfig: aggregatorapiserver.ExtraConfig{
			ProxyClientCertFile: o.ProxyClientCertFile, ProxyClientKeyFile: o.ProxyClientKeyFile,
			ServiceResolver: o.ServiceResolver,
		},
	}
}

// New builds the aggregator in front of delegate (the core server, itself in front of
// apiextensions) with kube-apiserver's additions: the built-in group versions' APIServices and
// the CRDs' (kept by kube-aggregator's autoregister controller), their priorities in aggregated
// discovery, and the autoregister-completion check that holds readiness until the built-in
// APIServices are Available.
func New(c aggregatorapiserver.CompletedConfig, delegate genericapiserver.DelegationTarget, crds apiextensionsinformers.CustomResourceDefinitionInformer) (*aggregatorapiserver.APIAggregator, error) {
	agg, err := c.NewWithDelegate(delegate)
	if err != nil {
		return nil, fmt.Errorf("creating the aggregator: %w", err)
	}
	client, err := apiregistrationclient.NewForConfig(c.GenericConfig.LoopbackClientConfig)
	if err != nil {
		return nil, fmt.Errorf("apiregistration client: %w", err)
	}
	apiServices := agg.APIRegistrationInformers.Apiregistration().V1().APIServices()
	autoRegister := autoregister.NewAutoRegisterController(apiServices, client)
	builtin := BuiltinAPIServices(delegate.ListedPaths())
	for _, svc := range builtin {
		autoRegister.AddAPIServiceToSyncOnStart(svc)
	}
	crdRegistration, err := NewCRDRegistration(crds, autoRegister)
	if err != nil {
		return nil, err
	}
	if m := c.GenericConfig.AggregatedDiscoveryGroupManager; m != nil {
		for gv, p := range Priorities {
			m.SetGroupVersionPriority(metav1.GroupVersion(gv), int(p.Group), int(p.Version))
		}
	}
	if err := agg.GenericAPIServer.AddPostStartHook("kube-apiserver-autoregistration", func(hook genericapiserver.PostStartHookContext) error {
		go runRegistration(hook, crdRegistration, autoRegister)
		return nil
	}); err != nil {
		return nil, err
	}
	completion, err := newAvailableCheck("autoregister-completion", builtin, apiServices)
	if err != nil {
		return nil, err
	}
	if err := agg.GenericAPIServer.AddBootSequenceHealthChecks(completion); err != nil {
		return nil, fmt.Errorf("autoregister-completion check: %w", err)
	}
	return agg, nil
}

// runRegistration runs the CRD registration and, once it has registered the CRDs present at
// start, the autoregister controller, whose first sync would otherwise delete their APIServices.
func runRegistration(ctx context.Context, crds *CRDRegistration, autoRegister interface{ Run(int, <-chan struct{}) }) {
	logger := klog.FromContext(ctx)
	go func() {
		if err := crds.Start(ctx); err != nil && ctx.Err() == nil {
			logger.Error(err, "CRD autoregistration stopped")
		}
	}()
	select {
	case <-ctx.Done():
		return
	case <-crds.InitialSync():
	}
	autoRegister.Run(5, ctx.Done())
}
