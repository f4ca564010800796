package admission

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// ServiceAccount admission, after upstream's plugin (plugin/pkg/admission/serviceaccount).
const (
	ServiceAccountName = "ServiceAccount"
	// DefaultServiceAccountName is the ServiceAccount pods run as when they name none.
	DefaultServiceAccountName = "default"
	// DefaultAPITokenMountPath is where the token, ca.crt and namespace are mounted.
	DefaultAPITokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	// ServiceAccountVolumeNamePrefix starts the projected volume's name (kube-api-access-xxxxx).
	ServiceAccountVolumeNamePrefix = "kube-api-access-"
	// RootCAConfigMapName is the ConfigMap of every namespace holding the cluster CA (ca.crt).
	RootCAConfigMapName = "kube-root-ca.crt"
	// WarnOnlyBoundTokenExpirationSeconds is the projected token's expirationSeconds (3607).
	WarnOnlyBoundTokenExpirationSeconds = 3607
	// MirrorPodAnnotationKey marks static pods' mirrors, which are not modified.
	MirrorPodAnnotationKey = "kubernetes.io/config.mirror"
)

// ServiceAccount gives new pods the default ServiceAccount when they name none, refuses pods
// whose ServiceAccount does not exist, copies the ServiceAccount's imagePullSecrets to pods
// without any, and mounts the kube-api-access-<random> projected volume (a bound token, the
// cluster CA and the namespace) at DefaultAPITokenMountPath in every container, unless the pod
// or its ServiceAccount turns automountServiceAccountToken off.
type ServiceAccount struct {
	*admission.Handler
	lister corelisters.ServiceAccountLister
	client kubernetes.Interface
	// sleep waits between live lookups of a missing default ServiceAccount.
	sleep func(time.Duration)
}

var _ admission.MutationInterface = &ServiceAccount{}

// NewServiceAccount reads ServiceAccounts through factory's informer, falling back to client.
func NewServiceAccount(factory informers.SharedInformerFactory, client kubernetes.Interface) *ServiceAccount {
	inf := factory.Core().V1().ServiceAccounts()
	p := &ServiceAccount{Handler: admission.NewHandler(admission.Create), lister: inf.Lister(), client: client, sleep: time.Sleep}
	p.SetReadyFunc(inf.Informer().HasSynced)
	return p
}

// Admit sets up new pods.
func (p *ServiceAccount) Admit(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != corev1.Resource("pods") || a.GetSubresource() != "" {
		return nil
	}
	pod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return nil
	}
	if _, mirror := pod.Annotations[MirrorPodAnnotationKey]; mirror {
		return nil
	}
	if !p.WaitForReady() {
		return admission.NewForbidden(a, fmt.Errorf("not yet ready to handle request"))
	}
	if pod.Spec.ServiceAccountName == "" {
		// The deprecated field names the account when the current one is empty, as upstream's
		// conversion reads it.
		pod.Spec.ServiceAccountName = pod.Spec.DeprecatedServiceAccount
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = DefaultServiceAccountName
	}
	pod.Spec.DeprecatedServiceAccount = pod.Spec.ServiceAccountName
	sa, err := p.serviceAccount(ctx, a.GetNamespace(), pod.Spec.ServiceAccountName)
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("error looking up service account %s/%s: %w", a.GetNamespace(), pod.Spec.ServiceAccountName, err))
	}
	if shouldAutomount(sa, pod) {
		MountServiceAccountToken(pod)
	}
	if len(pod.Spec.ImagePullSecrets) == 0 && len(sa.ImagePullSecrets) > 0 {
		pod.Spec.ImagePullSecrets = append([]corev1.LocalObjectReference(nil), sa.ImagePullSecrets...)
	}
	return nil
}

// serviceAccount reads the ServiceAccount from the informer, then live; the default one, which
// the serviceaccount controller creates with the namespace, is retried for about a second.
func (p *ServiceAccount) serviceAccount(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	sa, err := p.lister.ServiceAccounts(ns).Get(name)
	if err == nil {
		return sa, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}
	attempts := 1
	if name == DefaultServiceAccountName {
		attempts = 10
	}
	interval := time.Duration(100+rand.IntN(100)) * time.Millisecond
	for i := 0; i < attempts; i++ {
		if i > 0 {
			p.sleep(interval)
		}
		sa, err := p.client.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return sa, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	return nil, apierrors.NewNotFound(corev1.Resource("serviceaccount"), name)
}

func shouldAutomount(sa *corev1.ServiceAccount, pod *corev1.Pod) bool {
	if pod.Spec.AutomountServiceAccountToken != nil {
		return *pod.Spec.AutomountServiceAccountToken
	}
	if sa.AutomountServiceAccountToken != nil {
		return *sa.AutomountServiceAccountToken
	}
	return true
}

// MountServiceAccountToken adds the kube-api-access volume (unless a projected volume with a
// kube-api-access-* volume exists already) and mounts it read-only in every
// init and regular container that has nothing at DefaultAPITokenMountPath.
func MountServiceAccountToken(pod *corev1.Pod) {
	name := ""
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, ServiceAccountVolumeNamePrefix) {
			name = v.Name
			break
		}
	}
	mount := func(cs []corev1.Container) bool {
		added := false
		for i := range cs {
			has := false
			for _, m := range cs[i].VolumeMounts {
				if m.MountPath == DefaultAPITokenMountPath {
					has = true
				}
			}
			if has {
				continue
			}
			if name == "" {
				name = ServiceAccountVolumeNamePrefix + utilrand.String(5)
			}
			cs[i].VolumeMounts = append(cs[i].VolumeMounts, corev1.VolumeMount{Name: name, ReadOnly: true, MountPath: DefaultAPITokenMountPath})
			added = true
		}
		return added
	}
	existing := name != ""
	a := mount(pod.Spec.InitContainers)
	b := mount(pod.Spec.Containers)
	if (a || b) && !existing {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()}})
	}
}

// TokenVolumeSource is upstream's projected volume of a pod's API access: a bound token
// (3607 s, path token), ca.crt from kube-root-ca.crt and the namespace from the downward API.
func TokenVolumeSource() *corev1.ProjectedVolumeSource {
	mode := corev1.ProjectedVolumeSourceDefaultMode
	secs := int64(WarnOnlyBoundTokenExpirationSeconds)
	return &corev1.ProjectedVolumeSource{
		DefaultMode: &mode,
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &secs}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: RootCAConfigMapName},
				Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
				Path:     "namespace",
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
			}}}},
		},
	}
}
