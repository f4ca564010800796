// Package streaminglists makes every informer in a Skiff process fill its cache with a
// streaming list (client-go's WatchListClient: a watch with sendInitialEvents, ended by a
// bookmark) rather than one LIST response, and mends the one way that fails under load.
//
// Enable turns the feature on for the process (cmd/skiff's main, testenv). WrapTransport, on
// the rest.Config of each of Skiff's own clients (the API server's loopback client, the
// controllers' manager, the nodes' and cluster DNS's clients), lets a streaming list that the
// API server refuses because its watch cache lags behind etcd fall back to a list at once:
// client-go would retry it, ten times per request and then without end, for as long as the lag
// lasted (issue 17: a new leader-election term's informers never synced at 44,000 pods).
//
// It imports only client-go's feature gates, apimachinery and the standard library, so that the
// API server, the controllers and the node agent can all use it.
package streaminglists
