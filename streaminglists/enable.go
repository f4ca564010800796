package streaminglists

import (
	"os"
	"sync"

	clientfeatures "k8s.io/client-go/features"
)

// Enable turns on client-go's WatchListClient for this process: every informer (the API
// server's own, the controllers', the scheduler's, the node agent's) fills its cache with a streaming list (a
// watch with sendInitialEvents, ended by a bookmark) instead of one LIST response, so that the
// API server never builds a response of every pod at once, and a relist costs what a watch does
// (issue 17). client-go leaves the feature off by default; KUBE_FEATURE_WatchListClient=false
// still turns it off. Call it once, before any informer starts; clients that cannot stream
// (fakes) fall back to lists. Their clients should carry WrapTransport.
func Enable() {
	enableStreamingLists.Do(func() {
		clientfeatures.ReplaceFeatureGates(streamingLists{clientfeatures.FeatureGates()})
	})
}

var enableStreamingLists sync.Once

type streamingLists struct{ clientfeatures.Gates }

func (g streamingLists) Enabled(key clientfeatures.Feature) bool {
	if key == clientfeatures.WatchListClient {
		if _, set := os.LookupEnv("KUBE_FEATURE_" + string(key)); !set {
			return true
		}
	}
	return g.Gates.Enabled(key)
}
