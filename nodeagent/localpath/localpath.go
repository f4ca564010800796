package localpath

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apis/helper"
)

// Config configures a Provisioner. Client, NodeName and Root are required.
type Config struct {
	Client   kubernetes.Interface
	NodeName string
	// Root holds the volumes' directories, <Root>/<volume name> (the agent's <data dir>/storage).
	Root string
	// StorageClass reads a class by name (default: a GET on Client).
	StorageClass func(ctx context.Context, name string) (*storagev1.StorageClass, error)
	// Recorder records the events on claims and volumes (default: one of its own, from
	// skiff.dev/local-path on NodeName).
	Recorder record.EventRecorder
	// RetryBase and RetryMax bound the back-off of a claim or volume whose sync failed
	// (default 1 s and 5 min).
	RetryBase, RetryMax time.Duration
}

// Provisioner is a node's local-path provisioner.
type Provisioner struct {
	cfg    Config
	claims corelisters.PersistentVolumeClaimLister
	vols   corelisters.PersistentVolumeLister
	queue  workqueue.TypedRateLimitingInterface[key]
}

// key is a queued claim (namespace and name) or volume (name only).
type key struct {
	volume          bool
	namespace, name string
}

// New checks cfg and fills in defaults; Start runs the provisioner.
func New(cfg Config) (*Provisioner, error) {
	if cfg.Client == nil || cfg.NodeName == "" || cfg.Root == "" {
		return nil, fmt.Errorf("local-path provisioner needs Client, NodeName and Root")
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, err
	}
	cfg.Root = root // the volumes' paths are absolute
	if cfg.StorageClass == nil {
		cfg.StorageClass = func(ctx context.Context, name string) (*storagev1.StorageClass, error) {
			return cfg.Client.StorageV1().StorageClasses().Get(ctx, name, metav1.GetOptions{})
		}
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = time.Second
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 5 * time.Minute
	}
	return &Provisioner{cfg: cfg}, nil
}

// Start watches claims and volumes and provisions and deletes this node's volumes until ctx
// ends.
func (p *Provisioner) Start(ctx context.Context) error {
	log := klog.FromContext(ctx).WithName("local-path").WithValues("node", p.cfg.NodeName)
	ctx = klog.NewContext(ctx, log)
	if err := os.MkdirAll(p.cfg.Root, 0o755); err != nil {
		return err
	}
	if p.cfg.Recorder == nil {
		b := record.NewBroadcaster(record.WithContext(ctx))
		b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: p.cfg.Client.CoreV1().Events("")})
		defer b.Shutdown()
		p.cfg.Recorder = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: helper.LocalPathProvisioner, Host: p.cfg.NodeName})
	}
	p.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[key](p.cfg.RetryBase, p.cfg.RetryMax),
		workqueue.TypedRateLimitingQueueConfig[key]{Name: "local-path"})
	defer p.queue.ShutDown()

	factory := informers.NewSharedInformerFactory(p.cfg.Client, 0)
	claims := factory.Core().V1().PersistentVolumeClaims()
	vols := factory.Core().V1().PersistentVolumes()
	p.claims, p.vols = claims.Lister(), vols.Lister()
	enqueue := func(volume bool) cache.ResourceEventHandlerFuncs {
		add := func(obj any) {
			if m, ok := obj.(metav1.Object); ok {
				p.queue.Add(key{volume: volume, namespace: m.GetNamespace(), name: m.GetName()})
			}
		}
		return cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, obj any) { add(obj) }}
	}
	if _, err := claims.Informer().AddEventHandler(enqueue(false)); err != nil {
		return err
	}
	if _, err := vols.Informer().AddEventHandler(enqueue(true)); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), claims.Informer().HasSynced, vols.Informer().HasSynced) {
		return ctx.Err()
	}
	go func() { <-ctx.Done(); p.queue.ShutDown() }()
	log.Info("Local-path provisioner started", "root", p.cfg.Root)
	for p.processNext(ctx) {
	}
	return nil
}

func (p *Provisioner) processNext(ctx context.Context) bool {
	k, quit := p.queue.Get()
	if quit {
		return false
	}
	defer p.queue.Done(k)
	var err error
	if k.volume {
		err = p.syncVolume(ctx, k.name)
	} else {
		err = p.syncClaim(ctx, k.namespace, k.name)
	}
	if err != nil && ctx.Err() == nil {
		klog.FromContext(ctx).Error(err, "Sync failed, will retry", "namespace", k.namespace, "name", k.name, "volume", k.volume)
		p.queue.AddRateLimited(k)
		return true
	}
	p.queue.Forget(k)
	return true
}

// hostnames are the values this node's volumes are pinned to: its hostname label and its name.
func (p *Provisioner) hostnames(ctx context.Context) ([]string, error) {
	node, err := p.cfg.Client.CoreV1().Nodes().Get(ctx, p.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return []string{p.cfg.NodeName}, nil
	}
	if err != nil {
		return nil, err
	}
	return []string{Hostname(node, p.cfg.NodeName), p.cfg.NodeName}, nil
}

// syncClaim provisions a claim selected for this node, as the external-provisioner's
// provisionClaimOperation: the directory, then the PersistentVolume, with its events.
func (p *Provisioner) syncClaim(ctx context.Context, namespace, name string) error {
	claim, err := p.claims.PersistentVolumeClaims(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil || !WantsClaim(claim, p.cfg.NodeName) {
		return err
	}
	pvName := VolumeName(claim)
	if _, err := p.vols.Get(pvName); err == nil {
		return nil // provisioned before; the PV controller binds it
	}
	// The cache may not have seen a volume just made (the claim changed first): ask the API.
	if _, err := p.cfg.Client.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{}); err == nil {
		return nil
	}
	if err := CanProvision(claim); err != nil {
		p.cfg.Recorder.Event(claim, corev1.EventTypeWarning, "ProvisioningFailed", err.Error())
		return nil
	}
	className := helper.PersistentVolumeClaimClass(claim)
	class, err := p.cfg.StorageClass(ctx, className)
	if err != nil {
		// The class may be created or fixed later: retry.
		return fmt.Errorf("reading StorageClass %q of claim %s/%s: %w", className, namespace, name, err)
	}
	if class.Provisioner != helper.LocalPathProvisioner {
		klog.FromContext(ctx).Info("Claim's StorageClass has another provisioner", "claim", klog.KObj(claim), "provisioner", class.Provisioner)
		return nil
	}
	hostnames, err := p.hostnames(ctx)
	if err != nil {
		return err
	}
	p.cfg.Recorder.Event(claim, corev1.EventTypeNormal, "Provisioning",
		fmt.Sprintf("External provisioner is provisioning volume for claim %q", klog.KObj(claim)))
	pv, err := PlanVolume(claim, class, p.cfg.Root, hostnames[0])
	if err != nil {
		p.cfg.Recorder.Event(claim, corev1.EventTypeWarning, "ProvisioningFailed", err.Error())
		return nil // not retried: only a changed claim is tried again
	}
	if err := MakeDir(pv.Spec.Local.Path); err != nil {
		p.cfg.Recorder.Event(claim, corev1.EventTypeWarning, "ProvisioningFailed", fmt.Sprintf("failed to provision volume with StorageClass %q: %v", className, err))
		return err
	}
	if _, err := p.cfg.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating volume %s for claim %s/%s: %w", pv.Name, namespace, name, err)
	}
	klog.FromContext(ctx).Info("Provisioned volume", "claim", klog.KObj(claim), "volume", pv.Name, "path", pv.Spec.Local.Path)
	p.cfg.Recorder.Event(claim, corev1.EventTypeNormal, "ProvisioningSucceeded", "Successfully provisioned volume "+pv.Name)
	return nil
}

// MakeDir creates a volume's directory when it is missing, world-writable whatever the umask
// (as local-path-provisioner's setup script: any user of any pod writes there). An existing one
// is left as it is (a pod's fsGroup may have changed its group and mode).
func MakeDir(dir string) error {
	if _, err := os.Lstat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	return os.Chmod(dir, 0o777)
}

// syncVolume deletes a released volume of this node, as the external-provisioner's
// deleteVolumeOperation: the directory, the object, then the finalizer.
func (p *Provisioner) syncVolume(ctx context.Context, name string) error {
	pv, err := p.vols.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil || pv.Annotations[helper.AnnDynamicallyProvisioned] != helper.LocalPathProvisioner {
		return err
	}
	hostnames, err := p.hostnames(ctx)
	if err != nil {
		return err
	}
	switch DecideVolume(pv, hostnames...) {
	case VolumeDelete:
		dir, err := VolumeDir(pv, p.cfg.Root)
		if err != nil {
			p.cfg.Recorder.Event(pv, corev1.EventTypeWarning, "VolumeFailedDelete", err.Error())
			return nil // never retried: the path is not the provisioner's
		}
		if err := os.RemoveAll(dir); err != nil {
			p.cfg.Recorder.Event(pv, corev1.EventTypeWarning, "VolumeFailedDelete", err.Error())
			return err
		}
		klog.FromContext(ctx).Info("Deleted volume directory", "volume", pv.Name, "path", dir)
		if pv.DeletionTimestamp == nil {
			err := p.cfg.Client.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
		return p.removeFinalizer(ctx, pv.Name)
	case VolumeRelease:
		return p.removeFinalizer(ctx, pv.Name)
	}
	return nil
}

// removeFinalizer drops ProvisionerDeletionFinalizer from the volume (read afresh: its
// deletion changed it).
func (p *Provisioner) removeFinalizer(ctx context.Context, name string) error {
	pvs := p.cfg.Client.CoreV1().PersistentVolumes()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pv, err := pvs.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		i := slices.Index(pv.Finalizers, helper.ProvisionerDeletionFinalizer)
		if i < 0 {
			return nil
		}
		pv.Finalizers = slices.Delete(pv.Finalizers, i, i+1)
		_, err = pvs.Update(ctx, pv, metav1.UpdateOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
}
