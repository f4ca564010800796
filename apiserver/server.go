package apiserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	apimachineryversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/apiserver/pkg/registry/generic"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	genericfilters "k8s.io/apiserver/pkg/server/filters"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/server/routes"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/component-base/compatibility"
	"k8s.io/klog/v2"
	aggregatorapiserver "k8s.io/kube-aggregator/pkg/apiserver"
	aggregatorscheme "k8s.io/kube-aggregator/pkg/apiserver/scheme"
	"k8s.io/utils/clock"

	"github.com/skiff-dev/skiff/apis"
	skiffadmission "github.com/skiff-dev/skiff/apiserver/admission"
	"github.com/skiff-dev/skiff/apiserver/aggregator"
	"github.com/skiff-dev/skiff/apiserver/authorization"
	"github.com/skiff-dev/skiff/apiserver/bootstrap"
	"github.com/skiff-dev/skiff/apiserver/controlplane"
	"github.com/skiff-dev/skiff/apiserver/etcd"
	"github.com/skiff-dev/skiff/apiserver/insight/history"
	"github.com/skiff-dev/skiff/apiserver/insight/traces"
	"github.com/skiff-dev/skiff/apiserver/insight/ui"
	"github.com/skiff-dev/skiff/apiserver/localstore"
	"github.com/skiff-dev/skiff/apiserver/pki"
	"github.com/skiff-dev/skiff/apiserver/registry"
	admissionregistrationstorage "github.com/skiff-dev/skiff/apiserver/registry/admissionregistration"
	appsstorage "github.com/skiff-dev/skiff/apiserver/registry/apps"
	authnstorage "github.com/skiff-dev/skiff/apiserver/registry/authentication"
	authzstorage "github.com/skiff-dev/skiff/apiserver/registry/authorization"
	autoscalingstorage "github.com/skiff-dev/skiff/apiserver/registry/autoscaling"
	batchstorage "github.com/skiff-dev/skiff/apiserver/registry/batch"
	certificatesstorage "github.com/skiff-dev/skiff/apiserver/registry/certificates"
	coordinationstorage "github.com/skiff-dev/skiff/apiserver/registry/coordination"
	corestorage "github.com/skiff-dev/skiff/apiserver/registry/core"
	nodestorage "github.com/skiff-dev/skiff/apiserver/registry/core/node"
	servicestorage "github.com/skiff-dev/skiff/apiserver/registry/core/service"
	discoverystorage "github.com/skiff-dev/skiff/apiserver/registry/discovery"
	eventsstorage "github.com/skiff-dev/skiff/apiserver/registry/events"
	flowcontrolstorage "github.com/skiff-dev/skiff/apiserver/registry/flowcontrol"
	metricsstorage "github.com/skiff-dev/skiff/apiserver/registry/metrics"
	networkingstorage "github.com/skiff-dev/skiff/apiserver/registry/networking"
	runtimeclassstorage "github.com/skiff-dev/skiff/apiserver/registry/node"
	policystorage "github.com/skiff-dev/skiff/apiserver/registry/policy"
	rbacstorage "github.com/skiff-dev/skiff/apiserver/registry/rbac"
	schedulingstorage "github.com/skiff-dev/skiff/apiserver/registry/scheduling"
	storagestorage "github.com/skiff-dev/skiff/apiserver/registry/storage"
	"github.com/skiff-dev/skiff/apiserver/resourcemetrics"
	"github.com/skiff-dev/skiff/apiserver/stackgrow"
	"github.com/skiff-dev/skiff/apiserver/watchbuffer"
	"github.com/skiff-dev/skiff/streaminglists"
)

// SystemNamespaces exist from the first start and cannot be deleted.
var SystemNamespaces = []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease}

// Config is a prepared API server: generic config, storage and the embedded etcd if any.
type Config struct {
	Options *Options
	Generic *genericapiserver.RecommendedConfig
	Scheme  *runtime.Scheme
	Codecs  serializer.CodecFactory
	// CA signs client certificates; AdminKubeconfig is the written admin kubeconfig's path.
	CA              *pki.CA
	AdminKubeconfig string
	// Extensions serves CustomResourceDefinitions, as the delegate of the core server.
	Extensions *apiextensionsapiserver.Config
	// Aggregator serves APIServices in front of the core server (apiserver/aggregator).
	Aggregator  *aggregatorapiserver.Config
	etcd        *etcd.Server
	etcdOptions *genericoptions.EtcdOptions
	// local is the in-process storage client of a single embedded member (nil otherwise).
	local *localstore.Store
	// frontProxy is the aggregator's PKI for remote APIServices (frontproxy.go).
	frontProxy *frontProxy
	// serviceAccounts signs and authenticates service account tokens (serviceaccounts.go).
	serviceAccounts *serviceAccounts
	// authz is the authorization chain (rbac.go).
	authz *authorization.Authorizers
	// serviceResolver reaches webhooks' Services; restMapper is the discovery mapper of the
	// admission policies, also resolving policies' paramKinds (webhooks.go).
	serviceResolver webhook.ServiceResolver
	restMapper      meta.RESTMapper
	// history records who wrote each revision and how each resource is stored, for
	// /insight/v1/history (apiserver/insight/history).
	history *history.Recorder
}

// CompletedConfig is a Config with defaults filled in.
type CompletedConfig struct {
	*Config
	generic    genericapiserver.CompletedConfig
	extensions apiextensionsapiserver.CompletedConfig
	aggregator aggregatorapiserver.CompletedConfig
}

// Server is a running API server.
type Server struct {
	Config *Config
	// aggregator is the head of the chain: aggregator → core → apiextensions → not found.
	aggregator *aggregatorapiserver.APIAggregator
	ready      chan struct{}
	// kubernetesServiceIP is the ClusterIP of default/kubernetes.
	kubernetesServiceIP string
	// endpoints keeps default/kubernetes's endpoints listing the live API servers.
	endpoints *endpointReconciler
}

// Config prepares certificates and storage (starting the embedded etcd) and builds the generic
// server configuration.
func (o *Options) Config(ctx context.Context) (*Config, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := apis.AddToScheme(scheme); err != nil {
		return nil, err
	}
	// metrics.k8s.io is registered even when the built-in metrics API is off: its types are
	// known to the API machinery as upstream's are.
	if err := metricsstorage.AddToScheme(scheme); err != nil {
		return nil, err
	}
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	scheme.AddUnversionedTypes(schema.GroupVersion{Group: "", Version: "v1"}, apis.Unversioned...)
	codecs := serializer.NewCodecFactory(scheme)

	ca, err := pki.LoadOrCreateCA(o.pkiDir(), "ca", "skiff-ca")
	if err != nil {
		return nil, err
	}
	servingCert, servingKey := filepath.Join(o.pkiDir(), "apiserver.crt"), filepath.Join(o.pkiDir(), "apiserver.key")
	if err := ca.EnsurePair(servingCert, servingKey, withKubernetesServiceIP(servingSpec(o.advertiseIP()), o.ServiceClusterIPRange, servingCert, servingKey)); err != nil {
		return nil, err
	}

	c := &Config{Options: o, Scheme: scheme, Codecs: codecs, CA: ca}
	gc := genericapiserver.NewRecommendedConfig(codecs)
	// Upstream's identity, unique per member when several run on one host (identitylease.go).
	hostname, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("host name for the API server identity: %w", err)
	}
	gc.APIServerID = APIServerID(hostname, o.EtcdMemberName)
	c.Generic = gc
	gc.EffectiveVersion = compatibility.NewEffectiveVersionFromString(o.Version, "", "")
	if o.Tracing != nil {
		gc.TracerProvider = o.Tracing.APIServer()
	}
	// Pod streams: logs, exec, attach and port-forward are long-running, as in kube-apiserver
	// (no request timeout).
	gc.LongRunningFunc = genericfilters.BasicLongRunningRequestCheck(
		sets.NewString("watch", "proxy"), sets.NewString("attach", "exec", "proxy", "log", "portforward"))
	// Watches end when the server stops (kube-apiserver's --shutdown-watch-termination-grace-period):
	// a watch from a pod whose network namespace is gone is never closed by its client, and held
	// the stop for the HTTP server's whole shutdown timeout (60 s).
	gc.ShutdownWatchTerminationGracePeriod = 5 * time.Second

	serving := genericoptions.NewSecureServingOptions()
	serving.BindAddress, serving.BindPort = o.BindAddress, o.SecurePort
	// 1,000 streams on a connection, as upstream's RecommendedOptions, instead of Go's 100: the
	// in-process clients multiplex many requests on one connection (the scheduler's bindings,
	// each in a goroutine of its own, the ReplicaSet controller's creates), and a client past
	// the limit dials another one: at 100, a SchedulingBasic run of 10,000 pods spent a third
	// of the process's CPU in TLS handshakes.
	serving.HTTP2MaxStreamsPerConnection = 1000
	if o.SecurePort == 0 {
		// Port 0 would disable serving: pick a free port with our own listener instead.
		addr := net.JoinHostPort(o.BindAddress.String(), "0")
		if serving.Listener, serving.BindPort, err = genericoptions.CreateListener("tcp", addr, net.ListenConfig{}); err != nil {
			return nil, fmt.Errorf("listening on %s: %w", addr, err)
		}
	}
	serving.ServerCert.CertKey = genericoptions.CertKey{CertFile: servingCert, KeyFile: servingKey}
	if err := applySecureServing(serving, ca, &gc.SecureServing, &gc.LoopbackClientConfig); err != nil {
		return nil, fmt.Errorf("secure serving: %w", err)
	}
	clientCA, err := dynamiccertificates.NewStaticCAContent("client-ca", ca.CertPEM)
	if err != nil {
		return nil, fmt.Errorf("client CA: %w", err)
	}
	if err := gc.Authentication.ApplyClientCert(clientCA, gc.SecureServing); err != nil {
		return nil, fmt.Errorf("client CA: %w", err)
	}
	// The API server's own informers (its factory's, the join tokens') list instead of
	// streaming while its watch cache lags behind etcd.
	gc.LoopbackClientConfig.Wrap(streaminglists.WrapTransport)
	loopbackClient, err := kubernetes.NewForConfig(gc.LoopbackClientConfig)
	if err != nil {
		return nil, fmt.Errorf("loopback client: %w", err)
	}
	joinTokens := bootstrap.NewInformerTokenAuthenticator(loopbackClient)
	gc.AddPostStartHookOrDie("skiff-bootstrap-tokens", func(hook genericapiserver.PostStartHookContext) error {
		joinTokens.Start(hook.Done())
		return nil
	})
	gc.SharedInformerFactory = newInformerFactory(loopbackClient)
	c.serviceAccounts, err = c.setUpServiceAccounts(loopbackClient, gc.SharedInformerFactory)
	if err != nil {
		return nil, err
	}
	var frontProxyAuthn authenticator.Request
	if c.frontProxy, frontProxyAuthn, err = c.applyFrontProxy(); err != nil {
		return nil, err
	}
	gc.Authentication.Authenticator = stackgrow.Authenticator(newAuthenticator(clientCA, frontProxyAuthn, joinTokens, c.serviceAccounts.authn))
	if err := c.applyAuthorization(); err != nil {
		return nil, err
	}
	genericapiserver.AuthorizeClientBearerToken(gc.LoopbackClientConfig, &gc.Authentication, &gc.Authorization)

	namer := openapinamer.NewDefinitionNamer(scheme, apiextensionsapiserver.Scheme, aggregatorscheme.Scheme)
	gc.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openAPIDefinitions, namer)
	gc.OpenAPIConfig.Info.Title = "Kubernetes"
	gc.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openAPIDefinitions, namer)
	gc.OpenAPIV3Config.Info.Title = "Kubernetes"

	if err := c.applyStorage(ctx); err != nil {
		return nil, err
	}
	c.history = history.NewRecorder(0, nil)
	gc.RESTOptionsGetter = c.wrapStorage(gc.RESTOptionsGetter)
	if err := c.applyAdmission(ctx); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.applyHardening(); err != nil {
		c.Close()
		return nil, err
	}
	c.shareAggregatedDiscovery()
	gc.BuildHandlerChainFunc = func(h http.Handler, gcfg *genericapiserver.Config) http.Handler {
		return ui.WithLogin(genericapiserver.DefaultBuildHandlerChain(metricsHandler(o.ExtraMetrics, h), gcfg))
	}
	c.Extensions = c.extensionsConfig(c.etcdOptions)
	// Remote APIServices' Services resolve as webhooks' do (webhooks.go).
	c.Aggregator = aggregator.NewConfig(aggregator.Options{Generic: gc, Etcd: c.etcdOptions, ServiceResolver: c.serviceResolver,
		ProxyClientCertFile: c.frontProxy.certFile, ProxyClientKeyFile: c.frontProxy.keyFile})
	if err := c.writeAdminKubeconfig(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// localStorage builds g's resources on the in-process client of the embedded member when there is
// one (localstore).
func (c *Config) localStorage(g generic.RESTOptionsGetter) generic.RESTOptionsGetter {
	if c.local == nil {
		return g
	}
	return c.local.Getter(g)
}

// wrapStorage wraps the storage of every resource g builds: writes record their users for
// /insight/v1/history, and grow their goroutine's stack first (stackgrow).
func (c *Config) wrapStorage(g generic.RESTOptionsGetter) generic.RESTOptionsGetter {
	return stackgrow.Getter(c.history.WrapGetter(g))
}

func servingSpec(advertise net.IP) pki.CertSpec {
	spec := pki.CertSpec{
		CommonName: "kube-apiserver", Server: true,
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPs:      []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
	}
	if h, err := os.Hostname(); err == nil {
		spec.DNSNames = append(spec.DNSNames, h)
	}
	if advertise != nil && !advertise.IsLoopback() {
		spec.IPs = append(spec.IPs, advertise)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
				spec.IPs = append(spec.IPs, n.IP)
			}
		}
	}
	return spec
}

// applyStorage starts the embedded etcd (unless external servers are given) and stores objects
// as protobuf under /registry, as kube-apiserver does.
func (c *Config) applyStorage(ctx context.Context) error {
	o := c.Options
	servers := o.EtcdServers
	if len(servers) == 0 {
		e, err := etcd.Start(ctx, etcd.Config{Dir: o.etcdDir(), ClientPort: o.EtcdClientPort, PeerPort: o.EtcdPeerPort,
			LogFile: filepath.Join(o.DataDir, "logs", "etcd.log"), Name: o.EtcdMemberName, Cluster: o.EtcdCluster,
			ClientInfoFile: filepath.Join(o.DataDir, controlplane.ClientInfoFile), ForTests: o.EtcdForTests,
			CompactionBatchLimit: o.EtcdCompactionBatchLimit, CompactionSleepInterval: o.EtcdCompactionSleepInterval})
		if err != nil {
			return err
		}
		c.etcd = e
		servers = e.Endpoints
	}
	proto, ok := runtime.SerializerInfoForMediaType(c.Codecs.SupportedMediaTypes(), runtime.ContentTypeProtobuf)
	if !ok {
		return fmt.Errorf("no protobuf serializer registered")
	}
	var gvs []schema.GroupVersion
	for _, g := range apis.Groups {
		gvs = append(gvs, g.GroupVersion)
	}
	storageCodec := c.Codecs.CodecForVersions(proto.Serializer, c.Codecs.UniversalDeserializer(), schema.GroupVersions(gvs), runtime.InternalGroupVersioner)
	etcdOpts := genericoptions.NewEtcdOptions(storagebackend.NewDefaultConfig("/registry", storageCodec))
	etcdOpts.StorageConfig.Transport.ServerList = servers
	etcdOpts.StorageConfig.EncodeVersioner = schema.GroupVersions(gvs)
	etcdOpts.StorageConfig.CompactionInterval = o.EtcdCompactionInterval
	if cl := o.EtcdCluster; cl != nil && c.etcd != nil {
		etcdOpts.StorageConfig.Transport.TrustedCAFile = cl.CAFile
		etcdOpts.StorageConfig.Transport.CertFile, etcdOpts.StorageConfig.Transport.KeyFile = cl.ClientCertFile, cl.ClientKeyFile
	}
	encryption, err := o.encryptionConfigPath()
	if err != nil {
		c.Close()
		return err
	}
	etcdOpts.EncryptionProviderConfigFilepath = encryption
	if err := etcdOpts.ApplyTo(&c.Generic.Config); err != nil {
		c.Close()
		return fmt.Errorf("etcd storage: %w", err)
	}
	if c.etcd != nil && o.EtcdCluster == nil {
		// The only member shares the process: resources reach it without gRPC (localstore).
		c.local = localstore.New(c.etcd.LocalClient())
	}
	c.Generic.RESTOptionsGetter = c.localStorage(c.Generic.RESTOptionsGetter)
	// Watches keep up with Skiff's event rate instead of the cacher's 10-event channels.
	c.Generic.RESTOptionsGetter = watchbuffer.RESTOptionsGetter(c.Generic.RESTOptionsGetter, o.WatchQueueLength)
	c.etcdOptions = etcdOpts
	return nil
}

// applyAdmission installs NamespaceLifecycle: no objects in missing or terminating namespaces,
// and the system namespaces cannot be deleted.
func (c *Config) applyAdmission(ctx context.Context) error {
	client, err := kubernetes.NewForConfig(c.Generic.LoopbackClientConfig)
	if err != nil {
		return fmt.Errorf("loopback client: %w", err)
	}
	factory := c.Generic.SharedInformerFactory
	if factory == nil {
		factory = newInformerFactory(client)
		c.Generic.SharedInformerFactory = factory
	}
	c.Generic.ClientConfig = c.Generic.LoopbackClientConfig
	nsLifecycle, err := lifecycle.NewLifecycle(sets.New(SystemNamespaces...))
	if err != nil {
		return fmt.Errorf("namespace lifecycle admission: %w", err)
	}
	nsLifecycle.SetExternalKubeInformerFactory(factory)
	nsLifecycle.SetExternalKubeClientSet(client)
	if err := nsLifecycle.ValidateInitialization(); err != nil {
		return fmt.Errorf("namespace lifecycle admission: %w", err)
	}
	quotaAdmission, err := skiffadmission.NewResourceQuota(client, factory, ctx.Done())
	if err != nil {
		return err
	}
	if c.serviceResolver, err = newServiceResolver(factory, c.Generic.LoopbackClientConfig.Host); err != nil {
		return err
	}
	policiesAndWebhooks, err := c.newPolicyAndWebhookAdmission(client, factory, c.serviceResolver)
	if err != nil {
		return err
	}
	plugins := []admission.Interface{nsLifecycle, skiffadmission.NewLimitRanger(client, factory)}
	if !c.Options.DisableServiceAccountAdmission {
		// After NamespaceLifecycle and LimitRanger, as in upstream's order.
		plugins = append(plugins, skiffadmission.NewServiceAccount(factory, client))
	}
	plugins = append(plugins, authorization.NewNodeRestriction())
	if !c.Options.DisablePodSecurityAdmission {
		// After NodeRestriction, before Priority, as in upstream's order.
		podSecurity, err := skiffadmission.NewPodSecurity(factory, client)
		if err != nil {
			return err
		}
		plugins = append(plugins, podSecurity)
	}
	plugins = append(plugins, skiffadmission.NewPriority(factory, client),
		skiffadmission.NewDefaultTolerationsWith(tolerationSeconds(c.Options.DefaultNotReadyTolerationSeconds), tolerationSeconds(c.Options.DefaultUnreachableTolerationSeconds)),
		// The storage plugins, RuntimeClass, DefaultIngressClass, PodResizeValidator, then
		// ResourceQuota last, in upstream's order.
		skiffadmission.NewDefaultStorageClass(factory, client), skiffadmission.NewStorageObjectInUseProtection(),
		skiffadmission.NewPersistentVolumeClaimResize(factory, client), skiffadmission.NewRuntimeClass(factory, client),
		skiffadmission.NewDefaultIngressClass(factory, client), skiffadmission.NewPodResizeValidator(factory),
		// Admission policies and webhooks, then ResourceQuota, in upstream's order (webhooks.go).
		policiesAndWebhooks, quotaAdmission)
	if c.Options.Tracing != nil {
		// Last: the object has its UID and final form (apiserver/insight/traces).
		plugins = append(plugins, traces.Annotator{})
	}
	c.Generic.AdmissionControl = admission.NewChainHandler(plugins...)
	return nil
}

// writeAdminKubeconfig writes DATA_DIR/kubeconfig with a system:masters client certificate,
// DATA_DIR/controller-manager.kubeconfig for the controllers' own identity and
// DATA_DIR/kube-dns.kubeconfig for the cluster DNS server's (system:kube-dns). Every member,
// joined ones too, issues its own from the shared CA at every start.
func (c *Config) writeAdminKubeconfig() error {
	o := c.Options
	c.AdminKubeconfig = o.KubeconfigPath()
	if err := c.WriteClientKubeconfig(c.AdminKubeconfig, "skiff-admin", "system:masters"); err != nil {
		return err
	}
	if err := c.WriteClientKubeconfig(o.ControllerManagerKubeconfigPath(), authorization.ControllerManagerUser); err != nil {
		return err
	}
	return c.WriteClientKubeconfig(o.KubeDNSKubeconfigPath(), authorization.KubeDNSUser)
}

// WriteClientKubeconfig writes a kubeconfig for this server with a new client certificate for
// user (CN) in groups (O).
func (c *Config) WriteClientKubeconfig(path, user string, groups ...string) error {
	certPEM, keyPEM, err := c.CA.Issue(pki.CertSpec{CommonName: user, Organization: groups, Client: true})
	if err != nil {
		return err
	}
	return pki.WriteKubeconfig(path, c.ServerURL(), "skiff", user, c.CA.CertPEM, certPEM, keyPEM)
}

// ServerURL is the API's URL as local clients reach it.
func (c *Config) ServerURL() string {
	port := c.Options.SecurePort
	if c.Generic.SecureServing != nil && c.Generic.SecureServing.Listener != nil {
		port = c.Generic.SecureServing.Listener.Addr().(*net.TCPAddr).Port
	}
	return "https://" + net.JoinHostPort(c.Options.kubeconfigHost(), strconv.Itoa(port))
}

// Close releases what Config() started (the embedded etcd) when the server is not started.
func (c *Config) Close() {
	if c.local != nil {
		_ = c.local.Close()
		c.local = nil
	}
	if c.etcd != nil {
		c.etcd.Close()
		c.etcd = nil
	}
}

// Complete fills in the generic config's defaults.
func (c *Config) Complete() CompletedConfig {
	return CompletedConfig{Config: c, generic: c.Generic.Complete(), extensions: c.Extensions.Complete(), aggregator: c.Aggregator.Complete()}
}

// New builds the servers, installs every API group and chains them as kube-apiserver does:
// aggregator → core → apiextensions → not found.
func (c CompletedConfig) New() (*Server, error) {
	crds, err := c.extensions.New(genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, fmt.Errorf("creating apiextensions server: %w", err)
	}
	gs, err := c.generic.New("skiff-apiserver", crds.GenericAPIServer)
	if err != nil {
		return nil, fmt.Errorf("creating generic server: %w", err)
	}
	// Pod streams (pods/log, exec, attach, portforward): the API server reaches node agents with
	// a client certificate of the cluster CA and verifies their serving certificates with it.
	// Its user (no group) is bound to system:kubelet-api-admin, which the agents check with a
	// SubjectAccessReview; every member issues its own at start, joined ones too.
	nodeCert, nodeKey, err := c.CA.Issue(pki.CertSpec{CommonName: authorization.KubeletClientUser, Client: true})
	if err != nil {
		return nil, fmt.Errorf("node client certificate: %w", err)
	}
	nodeTLS, err := nodestorage.ClientTLS(c.CA.CertPEM, nodeCert, nodeKey)
	if err != nil {
		return nil, err
	}
	// One storage provider per API group, in discovery order (legacy core first).
	core := &corestorage.Provider{
		Services:             servicestorage.Config{ClusterIPRange: c.Options.ServiceClusterIPRange, NodePortRange: c.Options.ServiceNodePortRange},
		NodeClientTLS:        nodeTLS,
		ServiceAccountTokens: c.serviceAccounts.tokens(c.Options),
	}
	providers := []registry.RESTStorageProvider{core,
		appsstorage.Provider{},
		autoscalingstorage.Provider{},
		batchstorage.Provider{},
		coordinationstorage.Provider{},
		networkingstorage.Provider{},
		runtimeclassstorage.Provider{},
		discoverystorage.Provider{},
		certificatesstorage.Provider{},
		rbacstorage.Provider{Guard: c.authz.Guard},
		schedulingstorage.Provider{},
		storagestorage.Provider{},
		authnstorage.Provider{TokenReviews: c.tokenReviews()},
		authzstorage.Provider{Authorizer: c.Generic.Authorization.Authorizer, RuleResolver: c.authz.RuleResolver},
		eventsstorage.Provider{},
		policystorage.Provider{},
		admissionregistrationstorage.Provider{Authorizer: c.Generic.Authorization.Authorizer, Mapper: c.restMapper},
		flowcontrolstorage.Provider{},
	}
	// metrics.k8s.io, as metrics-server serves it, from the nodes' /metrics/resource scraped
	// in-process (--disable-metrics-api leaves it to metrics-server).
	var metricsStore *resourcemetrics.Store
	if !c.Options.DisableMetricsAPI {
		metricsStore = resourcemetrics.NewStore(c.Options.MetricResolution)
		informers := c.Generic.SharedInformerFactory.Core().V1()
		providers = append(providers, metricsstorage.Provider{Source: metricsStore,
			Nodes: informers.Nodes().Lister(), Pods: informers.Pods().Lister()})
	}
	groups, err := registry.Build(c.Scheme, c.Codecs, c.Generic.RESTOptionsGetter, providers...)
	if err != nil {
		return nil, err
	}
	// The escalation check reads roles and bindings from storage, as upstream's: not from the
	// authorizer's informers, which may not have seen a Role created a moment before its binding.
	c.authz.Guard.Resolver = authorization.NewStaticRuleResolver(rbacstorage.StorageListers(groups.Stores))
	if err := gs.InstallLegacyAPIGroup(genericapiserver.DefaultLegacyAPIPrefix, groups.Legacy); err != nil {
		return nil, fmt.Errorf("installing core/v1: %w", err)
	}
	if err := gs.InstallAPIGroups(groups.Named...); err != nil {
		return nil, fmt.Errorf("installing API groups: %w", err)
	}
	if err := c.installOpenIDDiscovery(gs, c.serviceAccounts); err != nil {
		return nil, err
	}
	s := &Server{Config: c.Config, ready: make(chan struct{}), kubernetesServiceIP: core.KubernetesServiceIP()}
	// The reconciler keeps default/kubernetes's v1 Endpoints on purpose (as kube-apiserver's does,
	// which writes storage directly): its reads must not log the API's deprecation warning.
	endpointsConfig := rest.CopyConfig(c.Generic.LoopbackClientConfig)
	endpointsConfig.WarningHandler = rest.NoWarnings{}
	endpointsClient, err := kubernetes.NewForConfig(endpointsConfig)
	if err != nil {
		return nil, fmt.Errorf("loopback client: %w", err)
	}
	s.endpoints = newEndpointReconciler(endpointsClient, c.Options.advertiseIP(), clock.RealClock{})
	gs.AddPreShutdownHookOrDie("skiff-kubernetes-endpoints", s.endpoints.preShutdown)
	gs.AddPostStartHookOrDie("skiff-system-namespaces", s.ensureSystemNamespaces)
	gs.AddPostStartHookOrDie("scheduling/bootstrap-system-priority-classes", bootstrapHook(schedulingstorage.EnsureSystemPriorityClasses))
	gs.AddPostStartHookOrDie("priority-and-fairness-config-producer", bootstrapHook(flowcontrolstorage.EnsureConfiguration))
	if !c.Options.DisableDefaultStorageClass {
		gs.AddPostStartHookOrDie("storage/bootstrap-default-storage-class", bootstrapHook(storagestorage.EnsureDefaultStorageClass))
	}
	if !c.Options.DisableIngress {
		gs.AddPostStartHookOrDie("networking/bootstrap-default-ingress-class", bootstrapHook(networkingstorage.EnsureDefaultIngressClass))
	}
	if metricsStore != nil {
		if err := addMetricsScraper(gs, c.Generic.SharedInformerFactory, core.NodeConnector(), metricsStore, c.Options.MetricResolution); err != nil {
			return nil, err
		}
	}
	if c.Options.Tracing != nil {
		peers, err := c.peerTraces()
		if err != nil {
			return nil, err
		}
		gs.Handler.NonGoRestfulMux.Handle(traces.Path, tracesHandler(c.Options.Tracing.Store, c.Generic.SharedInformerFactory, core.NodeConnector(), peers))
	}
	gs.AddPostStartHookOrDie("skiff-cluster-info", bootstrap.PublishClusterInfo(c.ServerURL(), c.CA.CertPEM))
	extensionAuthn := extensionAuthenticationData(c.CA.CertPEM, c.frontProxy.ca.CertPEM)
	gs.AddPostStartHookOrDie("skiff-extension-apiserver-authentication", bootstrapHook(func(ctx context.Context, client kubernetes.Interface) error {
		return registry.EnsureCreated(ctx, "ConfigMap", ExtensionAuthenticationConfigMap, func(ctx context.Context) error {
			return ensureExtensionAuthentication(ctx, client, extensionAuthn)
		})
	}))
	if err := c.installInsight(gs); err != nil {
		return nil, err
	}
	if c.etcd != nil && c.Options.EtcdCluster != nil {
		// New control-plane members join through any member (skiff server --join).
		gs.Handler.NonGoRestfulMux.Handle(bootstrap.ControlPlaneJoinPath, controlplane.JoinHandler(c.Options.DataDir, c.etcd.Members))
	}
	// The web pages (apiserver/insight/ui), a non-resource path behind the same chain.
	uiHandler, err := ui.New(ui.Config{Loopback: c.Generic.LoopbackClientConfig})
	if err != nil {
		return nil, err
	}
	gs.Handler.NonGoRestfulMux.HandlePrefix(ui.Path, uiHandler)
	gs.Handler.NonGoRestfulMux.Handle(strings.TrimSuffix(ui.Path, "/"), http.RedirectHandler(ui.Path, http.StatusMovedPermanently))
	// Last: the aggregator takes over the delegates' post-start hooks and health checks when it
	// is created.
	if s.aggregator, err = aggregator.New(c.aggregator, gs, crds.Informers.Apiextensions().V1().CustomResourceDefinitions()); err != nil {
		return nil, err
	}
	installVersion(s.aggregator.GenericAPIServer, c.Options.Version)
	return s, nil
}

// bootstrapHook is a post-start hook that creates built-in objects through the loopback client.
func bootstrapHook(ensure func(ctx context.Context, client kubernetes.Interface) error) genericapiserver.PostStartHookFunc {
	return func(hook genericapiserver.PostStartHookContext) error {
		client, err := kubernetes.NewForConfig(hook.LoopbackClientConfig)
		if err != nil {
			return err
		}
		return ensure(hook, client)
	}
}

// ensureSystemNamespaces creates default, kube-system, kube-public and kube-node-lease.
func (s *Server) ensureSystemNamespaces(hook genericapiserver.PostStartHookContext) error {
	client, err := kubernetes.NewForConfig(hook.LoopbackClientConfig)
	if err != nil {
		return err
	}
	for _, name := range SystemNamespaces {
		for {
			_, err := client.CoreV1().Namespaces().Create(hook, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
			if err == nil || apierrors.IsAlreadyExists(err) {
				break
			}
			klog.FromContext(hook).Info("Retrying system namespace creation", "namespace", name, "err", err)
			select {
			case <-hook.Done():
				return hook.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return s.ensureKubernetesService(hook, client)
}

// ensureKubernetesService creates default/kubernetes, the Service in-cluster clients use to
// reach the API server, with its Endpoints and EndpointSlice, as upstream's bootstrap controller.
func (s *Server) ensureKubernetesService(ctx context.Context, client kubernetes.Interface) error {
	port := int32(s.Config.Options.SecurePort)
	if l := s.Config.Generic.SecureServing.Listener; l != nil {
		port = int32(l.Addr().(*net.TCPAddr).Port)
	}
	labels := map[string]string{"component": "apiserver", "provider": "kubernetes"}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: metav1.NamespaceDefault, Labels: labels},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, ClusterIP: s.kubernetesServiceIP, SessionAffinity: corev1.ServiceAffinityNone,
			Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(port)}},
		},
	}
	_, err := client.CoreV1().Services(svc.Namespace).Get(ctx, svc.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = client.CoreV1().Services(svc.Namespace).Create(ctx, svc, metav1.CreateOptions{})
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the kubernetes service: %w", err)
	}
	// Its identity Lease tells the other members where it is (identitylease.go).
	hostname, _ := os.Hostname()
	identity := &identityLease{client: client, id: s.Config.Generic.APIServerID, hostname: hostname, clock: clock.RealClock{}}
	if err := identity.start(ctx, peerAddress(s.Config.Options.advertiseIP(), int(port))); err != nil {
		return fmt.Errorf("API server identity lease: %w", err)
	}
	// Its Endpoints and EndpointSlice list every live API server (kubernetesendpoints.go).
	return s.endpoints.start(ctx, port)
}

// LoopbackConfig is a privileged client config for in-process components.
func (s *Server) LoopbackConfig() *rest.Config {
	return rest.CopyConfig(s.Config.Generic.LoopbackClientConfig)
}

// Start serves until ctx is done, then shuts down and stops the embedded etcd.
func (s *Server) Start(ctx context.Context) error {
	defer s.Config.Close()
	prepared, err := s.aggregator.PrepareRun()
	if err != nil {
		return fmt.Errorf("preparing the aggregator: %w", err)
	}
	go func() {
		if err := s.waitReady(ctx); err == nil {
			close(s.ready)
		}
	}()
	errCh := make(chan error, 1)
	go func() { errCh <- prepared.Run(ctx) }()
	var etcdErr <-chan error
	if s.Config.etcd != nil {
		etcdErr = s.Config.etcd.Err()
		// Sizes in /metrics; the file shrinks again after a burst (the API server compacts).
		go s.Config.etcd.RunDefrag(ctx, etcd.DefragPolicy{}, clock.RealClock{})
	}
	select {
	case err := <-errCh:
		return err
	case err := <-etcdErr:
		return fmt.Errorf("embedded etcd stopped: %w", err)
	}
}

// Ready is closed once /readyz answers ok.
func (s *Server) Ready() <-chan struct{} { return s.ready }

func (s *Server) waitReady(ctx context.Context) error {
	client, err := kubernetes.NewForConfig(s.LoopbackConfig())
	if err != nil {
		return err
	}
	logger := klog.FromContext(ctx)
	var failing, unsynced string
	for {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil && string(body) == "ok" {
			return nil
		}
		// Which checks hold readiness back, each time they change, and which of the API
		// server's own informers informer-sync still waits for (/readyz withholds that): a
		// large cluster's start spends most of its time here (issue 17).
		f, u := failingChecks(body), ""
		if slices.Contains(strings.Fields(f), "informer-sync") {
			u = unsyncedInformers(s.Config.Generic.SharedInformerFactory)
		}
		if f != failing || u != unsynced {
			failing, unsynced = f, u
			logger.Info("API server not ready yet", "failing", f, "unsyncedInformers", u)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// unsyncedInformers names the informers of factory whose caches have not synced yet, sorted and
// space-separated: what the informer-sync check counts.
func unsyncedInformers(factory informers.SharedInformerFactory) string {
	now := make(chan struct{})
	close(now) // report, do not wait
	var names []string
	for t, synced := range factory.WaitForCacheSync(now) {
		if !synced {
			names = append(names, t.String())
		}
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}

// failingChecks are the names of the failed checks in a /readyz response ("[-]name failed:
// ..." lines), space-separated.
func failingChecks(body []byte) string {
	var names []string
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, "[-]"); ok {
			name, _, _ := strings.Cut(rest, " ")
			names = append(names, name)
		}
	}
	return strings.Join(names, " ")
}

// installVersion replaces the generic /version route, whose git version comes from linker flags,
// with one that reports the Kubernetes version Skiff serves.
func installVersion(gs *genericapiserver.GenericAPIServer, v string) {
	container := gs.Handler.GoRestfulContainer
	for _, ws := range container.RegisteredWebServices() {
		if ws.RootPath() == "/version" {
			container.Remove(ws)
		}
	}
	parsed := utilversion.MustParse(v)
	info := apimachineryversion.Info{
		Major: strconv.Itoa(int(parsed.Major())), Minor: strconv.Itoa(int(parsed.Minor())),
		EmulationMajor: strconv.Itoa(int(parsed.Major())), EmulationMinor: strconv.Itoa(int(parsed.Minor())),
		GitVersion: "v" + v, GitCommit: "skiff", GitTreeState: "clean", BuildDate: buildDate,
		GoVersion: goruntime.Version(), Compiler: goruntime.Compiler, Platform: goruntime.GOOS + "/" + goruntime.GOARCH,
	}
	routes.Version{Version: &info}.Install(container)
}

// buildDate is set by the Makefile's linker flags.
var buildDate = "1970-01-01T00:00:00Z"

// newInformerFactory is the API server's own informer factory (node authorizer, admission,
// service account tokens), as kube-apiserver's: a 10-minute resync, and no managed fields kept
// (none of them reads them; at 50,000 pods they were a third of each pod copy), nor a pod's
// status but its phase (informerTransform).
func newInformerFactory(client kubernetes.Interface) informers.SharedInformerFactory {
	return informers.NewSharedInformerFactoryWithOptions(client, 10*time.Minute, informers.WithTransform(informerTransform))
}

// informerTransform trims an object before the API server's own informers store it: managed
// fields go, and a pod keeps only the phase of its status. The pods' readers here (the node
// authorizer's references, PodSecurity's evaluation of a namespace's pods, bound service
// account tokens' pod and UID) read metadata and spec; a pod's status (conditions, container
// statuses, IPs) was over a quarter of each copy left at 50,000 pods.
func informerTransform(obj any) (any, error) {
	if accessor, err := meta.Accessor(obj); err == nil && accessor.GetManagedFields() != nil {
		accessor.SetManagedFields(nil)
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		pod.Status = corev1.PodStatus{Phase: pod.Status.Phase}
	}
	return obj, nil
}
