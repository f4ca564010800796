package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/skiff-dev/skiff/apiserver/insight/traces"
	"github.com/skiff-dev/skiff/apiserver/registry/core/node"
	"github.com/skiff-dev/skiff/apiserver/resourcemetrics"
	"github.com/skiff-dev/skiff/insight/trace"
)

// addMetricsScraper runs the resource metrics scraper once the server starts: every Ready
// node's /metrics/resource, through the node client of pods' streams (whose user is bound to
// system:kubelet-api-admin, so the agents allow it nodes/metrics), into the store that
// metrics.k8s.io serves.
func addMetricsScraper(gs *genericapiserver.GenericAPIServer, factory informers.SharedInformerFactory, nodes *node.Connector, store *resourcemetrics.Store, resolution time.Duration) error {
	lister := factory.Core().V1().Nodes().Lister()
	scraper, err := resourcemetrics.NewScraper(resourcemetrics.Config{
		Nodes:   func() ([]*corev1.Node, error) { return lister.List(labels.Everything()) },
		Connect: connectListed(lister, nodes),
		Store:   store, Resolution: resolution,
	})
	if err != nil {
		return err
	}
	if err := gs.AddPostStartHook("metrics/start-resource-metrics-scraper", func(hook genericapiserver.PostStartHookContext) error {
		go func() { _ = scraper.Start(hook) }()
		return nil
	}); err != nil {
		return fmt.Errorf("resource metrics scraper: %w", err)
	}
	return nil
}

// tracesHandler serves /insight/v1/traces from this process's spans, the other API servers'
// (peers: their Peers and PeerTransport) and every node agent's, reached through the same node
// client as the metrics scraper.
func tracesHandler(store *trace.Store, factory informers.SharedInformerFactory, nodes *node.Connector, peers traces.Config) http.Handler {
	lister := factory.Core().V1().Nodes().Lister()
	return traces.Handler(traces.Config{Store: store, Connect: connectListed(lister, nodes), Nodes: func() ([]string, error) {
		list, err := lister.List(labels.Everything())
		if err != nil {
			return nil, err
		}
		return resourcemetrics.Targets(list), nil
	}, Peers: peers.Peers, PeerTransport: peers.PeerTransport})
}

// connectListed reaches a node agent through the node client, reading the Node from the
// informer (not etcd): the scraper and the trace handler ask for every Ready node at once.
func connectListed(lister corelisters.NodeLister, nodes *node.Connector) func(context.Context, string) (*url.URL, http.RoundTripper, error) {
	return func(_ context.Context, name string) (*url.URL, http.RoundTripper, error) {
		n, err := lister.Get(name)
		if err != nil {
			return nil, nil, err
		}
		return nodes.ConnectionFor(n)
	}
}
