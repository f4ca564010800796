package proxy

import "github.com/skiff-dev/skiff/nodeagent/internal/netnstest"

// The network namespace helpers of the tests with real nftables.
type netnsEnv = netnstest.Netns

var (
	requireNetns = netnstest.Require
	run          = netnstest.Run
	newNetns     = netnstest.New
	nftIn        = netnstest.NFT
	inNetns      = netnstest.In
	serveIn      = netnstest.Serve
	get          = netnstest.Get
	veth         = netnstest.Veth
	isRefused    = netnstest.IsRefused
)
