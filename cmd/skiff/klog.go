package main

import (
	goflag "flag"

	"k8s.io/klog/v2"
)

func flagSetForKlog() *goflag.FlagSet {
	fs := goflag.NewFlagSet("klog", goflag.ContinueOnError)
	klog.InitFlags(fs)
	return fs
}
