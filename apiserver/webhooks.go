package apiserver

import (
	"fmt"
	"net/url"
	"time"

	noopoteltrace "go.opentelemetry.io/otel/trace/noop"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilwait "k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	admissionmetrics "k8s.io/apiserver/pkg/admission/metrics"
	mutatingpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/mutating"
	validatingpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	webhookinit "k8s.io/apiserver/pkg/admission/plugin/webhook/initializer"
	mutatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/mutating"
	validatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/validating"
	genericapiserver "k8s.io/apiserver/pkg/server"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/apiserver/pkg/util/proxy"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/restmapper"
)

// policyAndWebhookPlugins are k8s.io/apiserver's admission plugins for admission policies and
// webhooks, in kube-apiserver's order (AllOrderedPlugins): after every other mutating plugin,
// before ResourceQuota.
var policyAndWebhookPlugins = []string{
	mutatingpolicy.PluginName,    // MutatingAdmissionPolicy
	mutatingwebhook.PluginName,   // MutatingAdmissionWebhook
	validatingpolicy.PluginName,  // ValidatingAdmissionPolicy
	validatingwebhook.PluginName, // ValidatingAdmissionWebhook
}

// newPolicyAndWebhookAdmission builds those plugins the way k8s.io/apiserver's
// AdmissionOptions.ApplyTo does, with kube-apiserver's extra initializer for webhooks (an
// authentication-info resolver from the loopback config and the service resolver).
func (c *Config) newPolicyAndWebhookAdmission(client kubernetes.Interface, factory informers.SharedInformerFactory, resolver webhook.ServiceResolver) (admission.Interface, error) {
	gc := c.Generic
	dynamicClient, err := dynamic.NewForConfig(gc.LoopbackClientConfig)
	if err != nil {
		return nil, fmt.Errorf("loopback dynamic client: %w", err)
	}
	plugins := admission.NewPlugins()
	mutatingpolicy.Register(plugins)
	mutatingwebhook.Register(plugins)
	validatingpolicy.Register(plugins)
	validatingwebhook.Register(plugins)

	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery()))
	c.restMapper = mapper
	generic := initializer.New(client, dynamicClient, factory, gc.Authorization.Authorizer, utilfeature.DefaultFeatureGate,
		gc.EffectiveVersion, gc.DrainedNotify(), mapper)
	authResolver := webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, gc.LoopbackClientConfig, noopoteltrace.NewTracerProvider())
	initializers := admission.PluginInitializers{initializer.NewAPIServerIDInitializer(gc.APIServerID), generic,
		webhookinit.NewPluginInitializer(authResolver, resolver), excludedResources{}}
	// As upstream's: the discovery mapper is reset at start and every 30 seconds, so policies
	// and webhooks match newly served kinds (CRDs).
	if err := gc.AddPostStartHook("start-apiserver-admission-initializer", func(hook genericapiserver.PostStartHookContext) error {
		mapper.Reset()
		go utilwait.Until(mapper.Reset, 30*time.Second, hook.Done())
		return nil
	}); err != nil {
		return nil, err
	}
	config, err := admission.ReadAdmissionConfiguration(policyAndWebhookPlugins, "", nil)
	if err != nil {
		return nil, err
	}
	chain, err := plugins.NewFromPlugins(policyAndWebhookPlugins, config, initializers,
		admission.Decorators{admission.DecoratorFunc(admissionmetrics.WithControllerMetrics)})
	if err != nil {
		return nil, fmt.Errorf("policy and webhook admission: %w", err)
	}
	return chain, nil
}

// excludedResources hands the plugins kube-apiserver's list of resources that policies and
// webhooks never intercept (pkg/kubeapiserver/admission/exclusion): the review kinds, which are
// not persisted and whose interception may break the cluster.
type excludedResources struct{}

func (excludedResources) Initialize(plugin admission.Interface) {
	if wants, ok := plugin.(initializer.WantsExcludedAdmissionResources); ok {
		wants.SetExcludedAdmissionResources([]schema.GroupResource{
			{Group: "authentication.k8s.io", Resource: "selfsubjectreviews"},
			{Group: "authentication.k8s.io", Resource: "tokenreviews"},
			{Group: "authorization.k8s.io", Resource: "localsubjectaccessreviews"},
			{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"},
			{Group: "authorization.k8s.io", Resource: "selfsubjectrulesreviews"},
			{Group: "authorization.k8s.io", Resource: "subjectaccessreviews"},
		})
	}
}

// newServiceResolver resolves a Service reference of a webhook (admission webhooks, CRD
// conversion webhooks) as kube-apiserver does with --enable-aggregator-routing: to a ready
// endpoint's IP and target port from the Service's EndpointSlices, so a control-plane-only
// server reaches it without a service proxy; with no ready endpoint it falls back to the
// ClusterIP (reachable where a node's proxy runs). default/kubernetes:443 is this server.
func newServiceResolver(factory informers.SharedInformerFactory, loopbackHost string) (webhook.ServiceResolver, error) {
	slices, err := proxy.NewEndpointSliceIndexerGetter(factory.Discovery().V1().EndpointSlices())
	if err != nil {
		return nil, fmt.Errorf("endpoint slice getter: %w", err)
	}
	r := &serviceResolver{services: factory.Core().V1().Services().Lister(), slices: slices}
	if u, err := url.Parse(loopbackHost); err == nil && u.Host != "" {
		r.loopback = u
	}
	return r, nil
}

type serviceResolver struct {
	services listersv1.ServiceLister
	slices   proxy.EndpointSliceGetter
	loopback *url.URL
}

func (r *serviceResolver) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	if r.loopback != nil && namespace == "default" && name == "kubernetes" && port == 443 {
		return r.loopback, nil
	}
	u, err := proxy.ResolveEndpoint(r.services, r.slices, namespace, name, port)
	if err == nil {
		return u, nil
	}
	if apierrors.IsNotFound(err) {
		return nil, err
	}
	if cluster, clusterErr := proxy.ResolveCluster(r.services, namespace, name, port); clusterErr == nil {
		return cluster, nil
	}
	return nil, err
}
