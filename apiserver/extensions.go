package apiserver

import (
	noopoteltrace "go.opentelemetry.io/otel/trace/noop"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	apiextensionsoptions "k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	extensionsopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	"k8s.io/apiserver/pkg/endpoints/discovery/aggregated"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/util/webhook"
	aggregatoropenapi "k8s.io/kube-aggregator/pkg/generated/openapi"
	"k8s.io/kube-openapi/pkg/common"

	"github.com/skiff-dev/skiff/apiserver/openapi"
	"github.com/skiff-dev/skiff/apiserver/watchbuffer"
)

// openAPIDefinitions are the served k8s.io/api types plus apiextensions.k8s.io's and
// apiregistration.k8s.io's.
func openAPIDefinitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	defs := openapi.GetOpenAPIDefinitions(ref)
	for _, more := range []common.GetOpenAPIDefinitions{extensionsopenapi.GetOpenAPIDefinitions, aggregatoropenapi.GetOpenAPIDefinitions} {
		for name, def := range more(ref) {
			if _, ok := defs[name]; !ok {
				defs[name] = def
			}
		}
	}
	return defs
}

// extensionsConfig builds the apiextensions-apiserver config that serves CustomResourceDefinitions
// and custom resources behind Skiff's own API (its delegate, as in kube-apiserver), sharing
// serving, authentication, authorization, admission, OpenAPI and aggregated discovery.
func (c *Config) extensionsConfig(etcdOpts *genericoptions.EtcdOptions) *apiextensionsapiserver.Config {
	ec := genericapiserver.NewRecommendedConfig(apiextensionsapiserver.Codecs)
	ec.Config = c.Generic.Config
	ec.Serializer = apiextensionsapiserver.Codecs
	ec.PostStartHooks = map[string]genericapiserver.PostStartHookConfigEntry{}
	ec.MergedResourceConfig = apiextensionsapiserver.DefaultAPIResourceConfigSource()
	ec.SharedInformerFactory = c.Generic.SharedInformerFactory
	ec.ClientConfig = c.Generic.ClientConfig

	crdEtcd := *etcdOpts
	crdEtcd.StorageConfig.Codec = apiextensionsapiserver.Codecs.LegacyCodec(apiextensionsv1.SchemeGroupVersion)
	crdEtcd.StorageConfig.EncodeVersioner = apiextensionsv1.SchemeGroupVersion
	crdEtcd.SkipHealthEndpoints = true
	ec.RESTOptionsGetter = c.wrapStorage(c.localStorage(crdEtcd.CreateRESTOptionsGetter(&genericoptions.SimpleStorageFactory{StorageConfig: crdEtcd.StorageConfig}, nil)))

	return &apiextensionsapiserver.Config{
		GenericConfig: ec,
		ExtraConfig: apiextensionsapiserver.ExtraConfig{
			// Custom resources' watches get their own queues too (watchbuffer).
			CRDRESTOptionsGetter: watchbuffer.RESTOptionsGetter(c.wrapStorage(c.localStorage(apiextensionsoptions.NewCRDRESTOptionsGetter(crdEtcd, nil, c.Generic.StorageObjectCountTracker))), c.Options.WatchQueueLength),
			MasterCount:          1,
			AuthResolverWrapper:  webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, c.Generic.LoopbackClientConfig, noopoteltrace.NewTracerProvider()),
			// Conversion webhooks reach their Services as admission webhooks do (webhooks.go).
			ServiceResolver: c.serviceResolver,
		},
	}
}

// shareAggregatedDiscovery makes the three servers (aggregator, core, apiextensions) publish into
// one aggregated discovery document, so /apis lists custom resources and aggregated APIs next to
// the built-in groups.
func (c *Config) shareAggregatedDiscovery() {
	if c.Generic.AggregatedDiscoveryGroupManager == nil {
		c.Generic.AggregatedDiscoveryGroupManager = aggregated.NewResourceManager("apis")
	}
}
