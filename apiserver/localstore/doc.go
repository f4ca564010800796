// Package localstore stores the API server's resources through an in-process client of the
// embedded etcd member instead of a gRPC connection to it.
//
// kube-apiserver reaches etcd over gRPC: every read, write and watch event is marshalled to
// protobuf, framed in HTTP/2 and unmarshalled again on the other side of a loopback socket. When
// Skiff's API server and its single etcd member share the process, that round trip is pure
// overhead (at 5,000 nodes, where 500 Lease renewals a second reach etcd, gRPC was 8 % of the
// control plane's CPU). Getter replaces the storage a generic.RESTOptionsGetter builds with
// upstream's etcd3 store on a client whose calls go straight to the member's v3 RPC
// implementation (etcd's v3client), keeping the watch cache in front of it as before. The
// storage's behaviour is upstream's (the same etcd3 store, cacher, transformers and codec); only
// the transport differs.
//
// The resources share one in-process client, where upstream's factory gives each its own
// client; each watch cache still watches etcd on a stream of its own (ownWatchStream), since
// etcd answers a request for progress only when every watcher on the stream has caught up: on a
// shared stream one cache that lags under load (pods) would keep every other cache from proving
// it is current, and their consistent lists would wait 3 s and then go to etcd.
//
// Members of a multi-member cluster keep gRPC: its server-side interceptors end the watches of
// a member that lost its leader, and in-process calls bypass them.
package localstore
