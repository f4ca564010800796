// Package runtimeclass maps a pod's spec.runtimeClassName to the CRI runtime handler its
// sandbox runs with, as the kubelet's runtimeclass manager (pkg/kubelet/runtimeclass): the node
// agent watches node.k8s.io/v1 RuntimeClasses through the API (an informer, RBAC of system:node)
// and looks the class up when it creates a sandbox. No class means the runtime's default handler
// (""); a class that does not exist is an error, which fails the sandbox's creation with a
// FailedCreatePodSandBox event, as upstream. The handlers themselves are the runtime's
// (nodeagent/runtime/containerd configures runc and test-handler); a handler the runtime does
// not know fails RunPodSandbox the same way.
package runtimeclass

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	nodelisters "k8s.io/client-go/listers/node/v1"
	"k8s.io/client-go/tools/cache"
)

// Getter reads a RuntimeClass by name (a lister's Get).
type Getter interface {
	Get(name string) (*nodev1.RuntimeClass, error)
}

// Handler is upstream's LookupRuntimeHandler: the handler of the class named, "" for none; a
// missing class returns the NotFound error itself (runtimeclass.node.k8s.io "x" not found).
func Handler(classes Getter, runtimeClassName *string) (string, error) {
	if runtimeClassName == nil || *runtimeClassName == "" {
		return "", nil
	}
	rc, err := classes.Get(*runtimeClassName)
	if apierrors.IsNotFound(err) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("failed to lookup RuntimeClass %s: %w", *runtimeClassName, err)
	}
	return rc.Handler, nil
}

// Manager watches the cluster's RuntimeClasses.
type Manager struct {
	factory  informers.SharedInformerFactory
	informer cache.SharedIndexInformer
	lister   nodelisters.RuntimeClassLister
}

// NewManager watches RuntimeClasses through client once Start runs.
func NewManager(client kubernetes.Interface) *Manager {
	factory := informers.NewSharedInformerFactory(client, 0)
	inf := factory.Node().V1().RuntimeClasses()
	return &Manager{factory: factory, informer: inf.Informer(), lister: inf.Lister()}
}

// Start runs the informer until ctx ends.
func (m *Manager) Start(ctx context.Context) {
	m.factory.Start(ctx.Done())
	go func() {
		<-ctx.Done()
		m.factory.Shutdown()
	}()
}

// HasSynced reports whether the first list arrived.
func (m *Manager) HasSynced() bool { return m.informer.HasSynced() }

// Handler is the pod's runtime handler (kuberuntime.Config's RuntimeHandler).
func (m *Manager) Handler(pod *corev1.Pod) (string, error) {
	return Handler(m.lister, pod.Spec.RuntimeClassName)
}
