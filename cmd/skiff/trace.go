package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/skiff-dev/skiff/insight/trace"
)

func newTraceCommand() *cobra.Command {
	var (
		flags  clusterFlags
		output string
	)
	cmd := &cobra.Command{
		Use:   "trace KIND/NAME",
		Short: "Show what the cluster's components did for an object, as a timed sequence diagram",
		Long: "Resolve the object, fetch the spans the API server, the controllers, the scheduler and the\n" +
			"nodes recorded for it (and for its owners' own work) from /insight/v1/traces, and draw them:\n" +
			"one column per component, an arrow per span from its caller with the time taken, the\n" +
			"critical path marked with '*'. An object that is gone (a pod that died and was replaced) is\n" +
			"found by its kind and name in the spans. The story goes on with what the object's work\n" +
			"caused: a pod's replacement, a node's evicted pods and theirs, what a Fault did.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, namespace, err := flags.clientConfig()
			if err != nil {
				return err
			}
			spans, err := fetchTrace(cmd.Context(), cfg, args[0], namespace)
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(trace.Response{Spans: spans})
			}
			fmt.Fprint(cmd.OutOrStdout(), trace.Render(spans))
			return nil
		},
	}
	flags.add(cmd.Flags(), true)
	cmd.Flags().StringVarP(&output, "output", "o", "", "json: the spans instead of the diagram.")
	return cmd
}

// fetchTrace resolves KIND/NAME and its owners and asks the API server for their spans.
func fetchTrace(ctx context.Context, cfg *rest.Config, ref, namespace string) ([]trace.Span, error) {
	kind, name, err := splitKindName(ref)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	mapping, err := resolveResource(dc, kind)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	get := func(m schema.GroupVersionResource, namespaced bool, name string) (*unstructured.Unstructured, error) {
		if namespaced {
			return dyn.Resource(m).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
		}
		return dyn.Resource(m).Get(ctx, name, metav1.GetOptions{})
	}
	namespaced := mapping.Scope.Name() == "namespace"
	obj, err := get(mapping.Resource, namespaced, name)
	if apierrors.IsNotFound(err) {
		// Gone (a pod that died and was replaced): the spans still name it.
		q := url.Values{"kind": {mapping.GroupVersionKind.Kind}, "name": {name}}
		if namespaced {
			q.Set("namespace", namespace)
		}
		var resp trace.Response
		if ierr := getInsight(ctx, dc.RESTClient(), trace.Path, q, &resp); ierr != nil {
			return nil, fmt.Errorf("%w; reading the traces of the object that was there: %w", err, ierr)
		}
		return resp.Spans, nil
	}
	if err != nil {
		return nil, err
	}
	// The owners' own work (a pod's ReplicaSet, its Deployment), not their other children.
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	ancestors := trace.Ancestors(obj, func(ref metav1.OwnerReference, _ string) (metav1.Object, error) {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			return nil, err
		}
		m, err := mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, gv.Version)
		if err != nil {
			return nil, err
		}
		return get(m.Resource, m.Scope.Name() == "namespace", ref.Name)
	})
	var resp trace.Response
	if err := getInsight(ctx, dc.RESTClient(), trace.Path, url.Values{"uid": {string(obj.GetUID())}, "ancestor": ancestors}, &resp); err != nil {
		return nil, fmt.Errorf("reading the traces: %w", err)
	}
	return resp.Spans, nil
}
