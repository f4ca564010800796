package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-dev/skiff/apiserver"
)

// clusterFlags are the flags of the commands that ask a running cluster (`skiff trace`, `why`,
// `history`, `ui`): one kubeconfig lookup for all of them, kubeconfigPath.
type clusterFlags struct {
	kubeconfig, context, dataDir, namespace string
}

// add registers --kubeconfig, --context and --data-dir, and -n/--namespace when the command
// takes one.
func (f *clusterFlags) add(fs *pflag.FlagSet, namespaced bool) {
	f.dataDir = apiserver.NewOptions().DataDir
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "Path to the kubeconfig file (default: $KUBECONFIG, else <data-dir>/kubeconfig if it exists, else ~/.kube/config).")
	fs.StringVar(&f.context, "context", "", "The kubeconfig context to use.")
	fs.StringVar(&f.dataDir, "data-dir", f.dataDir, "The data dir of skiff up, whose admin kubeconfig is used when neither --kubeconfig nor $KUBECONFIG is set.")
	if namespaced {
		fs.StringVarP(&f.namespace, "namespace", "n", "", "The namespace (default: the context's, else default).")
	}
}

// kubeconfigPath decides which kubeconfig the insight commands load: the flag's; else none
// (kubectl's rules, which read $KUBECONFIG) when $KUBECONFIG is set; else the data dir's admin
// kubeconfig when it exists; else none (kubectl's rules: ~/.kube/config).
func kubeconfigPath(flag, env, dataDir string, exists func(string) bool) string {
	switch {
	case flag != "":
		return flag
	case env != "":
		return ""
	case dataDir != "" && exists(filepath.Join(dataDir, "kubeconfig")):
		return filepath.Join(dataDir, "kubeconfig")
	}
	return ""
}

// clientConfig is the flags' client config (kubeconfigPath, then --context) and the namespace
// to use: --namespace, else the context's, else default.
func (f *clusterFlags) clientConfig() (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfigPath(f.kubeconfig, os.Getenv(clientcmd.RecommendedConfigPathEnvVar), f.dataDir, fileExists)
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: f.context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	ns := f.namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil || ns == "" {
			ns = "default"
		}
	}
	return cfg, ns, nil
}

// client is clientConfig's clientset.
func (f *clusterFlags) client() (*kubernetes.Clientset, *rest.Config, string, error) {
	cfg, ns, err := f.clientConfig()
	if err != nil {
		return nil, nil, "", err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, "", err
	}
	return client, cfg, ns, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// resolveResource finds the resource KIND names as kubectl does: a resource, short name or
// kind, optionally qualified by group (and version): `deploy`, `deployments`,
// `deployment.apps`, `Deployment`, `deployments.v1.apps`.
func resolveResource(dc discovery.DiscoveryInterface, arg string) (*meta.RESTMapping, error) {
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	expander := restmapper.NewShortcutExpander(mapper, dc, func(string) {})
	if full, gr := schema.ParseResourceArg(arg); full != nil || !gr.Empty() {
		candidates := []schema.GroupVersionResource{gr.WithVersion("")}
		if full != nil {
			candidates = append([]schema.GroupVersionResource{*full}, candidates...)
		}
		for _, gvr := range candidates {
			if gvk, err := expander.KindFor(gvr); err == nil && !gvk.Empty() {
				return expander.RESTMapping(gvk.GroupKind(), gvk.Version)
			}
		}
	}
	full, gk := schema.ParseKindArg(arg)
	if full != nil {
		if m, err := mapper.RESTMapping(full.GroupKind(), full.Version); err == nil {
			return m, nil
		}
	}
	m, err := mapper.RESTMapping(gk)
	if err != nil {
		return nil, fmt.Errorf("the server doesn't have a resource type %q", arg)
	}
	return m, nil
}

// getInsight GETs one of the API server's /insight/v1 paths into out.
func getInsight(ctx context.Context, client rest.Interface, path string, params url.Values, out any) error {
	req := client.Get().AbsPath(path)
	for k, vs := range params {
		for _, v := range vs {
			if v != "" {
				req = req.Param(k, v)
			}
		}
	}
	body, err := req.DoRaw(ctx)
	if err != nil {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s", e.Error)
		}
		return err
	}
	return json.Unmarshal(body, out)
}

// splitKindName splits KIND/NAME.
func splitKindName(arg string) (string, string, error) {
	kind, name, ok := strings.Cut(arg, "/")
	if !ok || kind == "" || name == "" {
		return "", "", fmt.Errorf("%q is not KIND/NAME", arg)
	}
	return kind, name, nil
}
