package serviceaccount

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// CachedGetter reads ServiceAccounts and Pods from informers, and reads live when the cached
// copy is missing or has another UID than the token's (an object just created or recreated);
// Secrets and Nodes, rarely bound, are read live.
type CachedGetter struct {
	client kubernetes.Interface
	sas    corelisters.ServiceAccountLister
	pods   corelisters.PodLister
	start  func(stop <-chan struct{})
}

var _ Getter = &CachedGetter{}

// NewCachedGetter reads service accounts and pods from factory's informers (the API server's
// shared ones: one pod cache for the node authorizer, admission and tokens), else live through
// client; Start starts factory.
func NewCachedGetter(client kubernetes.Interface, factory informers.SharedInformerFactory) *CachedGetter {
	return &CachedGetter{client: client, sas: factory.Core().V1().ServiceAccounts().Lister(),
		pods: factory.Core().V1().Pods().Lister(), start: factory.Start}
}

// NewLiveGetter reads every object live through client.
func NewLiveGetter(client kubernetes.Interface) *CachedGetter {
	return &CachedGetter{client: client}
}

// Start runs the informers until stop is closed.
func (g *CachedGetter) Start(stop <-chan struct{}) {
	if g.start != nil {
		g.start(stop)
	}
}

func (g *CachedGetter) ServiceAccount(ctx context.Context, ns, name string, uid types.UID) (*corev1.ServiceAccount, error) {
	if g.sas != nil {
		if sa, err := g.sas.ServiceAccounts(ns).Get(name); err == nil && (uid == "" || sa.UID == uid) {
			return sa, nil
		} else if err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	return g.client.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
}

func (g *CachedGetter) Pod(ctx context.Context, ns, name string, uid types.UID) (*corev1.Pod, error) {
	if g.pods != nil {
		if p, err := g.pods.Pods(ns).Get(name); err == nil && (uid == "" || p.UID == uid) {
			return p, nil
		} else if err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	return g.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
}

func (g *CachedGetter) Secret(ctx context.Context, ns, name string, _ types.UID) (*corev1.Secret, error) {
	return g.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
}

func (g *CachedGetter) Node(ctx context.Context, name string, _ types.UID) (*corev1.Node, error) {
	return g.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
}
