package apiserver

import (
	"fmt"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/apiserver/etcd"
	"github.com/skiff-dev/skiff/apiserver/insight/history"
	"github.com/skiff-dev/skiff/apiserver/insight/why"
)

// installInsight serves /insight/v1/history (revisions read from etcd, users from the storage's
// write recorder) and /insight/v1/why (the pod, its events and the in-process scheduler's
// diagnosis); they are non-resource paths, authorized as such (cluster-admin may).
func (c CompletedConfig) installInsight(gs *genericapiserver.GenericAPIServer) error {
	t := c.etcdOptions.StorageConfig.Transport
	etcdClient, err := etcd.ClientInfo{Endpoints: t.ServerList, CAFile: t.TrustedCAFile, CertFile: t.CertFile, KeyFile: t.KeyFile}.NewClient()
	if err != nil {
		return fmt.Errorf("history's etcd client: %w", err)
	}
	gs.AddPostStartHookOrDie("skiff-insight-etcd-client", func(hook genericapiserver.PostStartHookContext) error {
		go func() {
			<-hook.Done()
			_ = etcdClient.Close()
		}()
		return nil
	})
	gs.Handler.NonGoRestfulMux.Handle(history.Path, &history.Handler{Recorder: c.history, KV: etcdClient, Scheme: c.Scheme, Codecs: c.Codecs})
	client, err := kubernetes.NewForConfig(c.Generic.LoopbackClientConfig)
	if err != nil {
		return fmt.Errorf("loopback client: %w", err)
	}
	gs.Handler.NonGoRestfulMux.Handle(why.Path, &why.Handler{Client: client, Diagnoses: c.Options.SchedulerDiagnoses})
	return nil
}
