package bootstrap

import (
	"bytes"
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
)

// ClusterInfoKubeconfig is the kubeconfig published in cluster-info: the server and its CA, no
// user, as kubeadm writes it.
func ClusterInfoKubeconfig(serverURL string, caPEM []byte) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[""] = &clientcmdapi.Cluster{Server: serverURL, CertificateAuthorityData: caPEM}
	return clientcmd.Write(*cfg)
}

// PublishClusterInfo is a post-start hook that writes kube-public/cluster-info with the cluster
// CA, retrying until kube-public exists.
func PublishClusterInfo(serverURL string, caPEM []byte) genericapiserver.PostStartHookFunc {
	return func(hook genericapiserver.PostStartHookContext) error {
		client, err := kubernetes.NewForConfig(hook.LoopbackClientConfig)
		if err != nil {
			return err
		}
		kc, err := ClusterInfoKubeconfig(serverURL, caPEM)
		if err != nil {
			return err
		}
		for {
			err := ensureClusterInfo(hook, client, kc)
			if err == nil {
				return nil
			}
			klog.FromContext(hook).V(2).Info("Retrying the cluster-info ConfigMap", "err", err)
			select {
			case <-hook.Done():
				return nil
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

func ensureClusterInfo(ctx context.Context, client kubernetes.Interface, kc []byte) error {
	cms := client.CoreV1().ConfigMaps(ClusterInfoNamespace)
	cur, err := cms.Get(ctx, ClusterInfoName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = cms.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: ClusterInfoName, Namespace: ClusterInfoNamespace},
			Data:       map[string]string{ClusterInfoKubeconfigKey: string(kc)},
		}, metav1.CreateOptions{})
		return err
	case err != nil:
		return err
	}
	old, _ := clientcmd.Load([]byte(cur.Data[ClusterInfoKubeconfigKey]))
	if old != nil {
		for _, c := range old.Clusters {
			next, _ := clientcmd.Load(kc)
			for _, n := range next.Clusters {
				if bytes.Equal(c.CertificateAuthorityData, n.CertificateAuthorityData) {
					return nil
				}
			}
		}
	}
	cur.Data = map[string]string{ClusterInfoKubeconfigKey: string(kc)}
	if _, err := cms.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating cluster-info: %w", err)
	}
	return nil
}
