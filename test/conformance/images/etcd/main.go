// Command etcd is the etcd server (go.etcd.io/etcd/server/v3's etcdmain, as upstream's etcd
// binary), for the stand-in of registry.k8s.io/etcd that the Aggregator conformance spec runs as
// /usr/local/bin/etcd next to its sample-apiserver.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
