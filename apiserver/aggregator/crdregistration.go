package aggregator

import (
	"context"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsinformers "k8s.io/apiextensions-apiserver/pkg/client/informers/externalversions/apiextensions/v1"
	apiextensionslisters "k8s.io/apiextensions-apiserver/pkg/client/listers/apiextensions/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// Registration is what CRDRegistration drives: kube-aggregator's autoregister controller, which
// creates, updates and deletes the APIServices it is told about.
type Registration interface {
	AddAPIServiceToSync(in *apiregistrationv1.APIService)
	RemoveAPIServiceToSync(name string)
}

// CRDAPIService decides the APIService of group version gv given every CRD: a local APIService
// when some CRD of that group serves that version, nil (remove it) otherwise.
func CRDAPIService(crds []*apiextensionsv1.CustomResourceDefinition, gv schema.GroupVersion) *apiregistrationv1.APIService {
	for _, crd := range crds {
		if crd.Spec.Group != gv.Group {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if v.Name == gv.Version && v.Served {
				return localAPIService(gv, Priority{Group: crdGroupPriorityMinimum, Version: crdVersionPriority})
			}
		}
	}
	return nil
}

// crdGroupVersions are every group version a CRD declares, served or not.
func crdGroupVersions(crd *apiextensionsv1.CustomResourceDefinition) []schema.GroupVersion {
	gvs := make([]schema.GroupVersion, 0, len(crd.Spec.Versions))
	for _, v := range crd.Spec.Versions {
		gvs = append(gvs, schema.GroupVersion{Group: crd.Spec.Group, Version: v.Name})
	}
	return gvs
}

// CRDRegistration keeps one local APIService per group version served by CRDs, as upstream's
// crdregistration controller: every change to a CRD re-decides its group versions.
type CRDRegistration struct {
	crds         apiextensionslisters.CustomResourceDefinitionLister
	synced       cache.InformerSynced
	registration Registration
	queue        workqueue.TypedRateLimitingInterface[schema.GroupVersion]
	initialSync  chan struct{}
}

// NewCRDRegistration watches CRDs through informer and tells registration about their group
// versions.
func NewCRDRegistration(informer apiextensionsinformers.CustomResourceDefinitionInformer, registration Registration) (*CRDRegistration, error) {
	c := &CRDRegistration{
		crds: informer.Lister(), synced: informer.Informer().HasSynced, registration: registration,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[schema.GroupVersion](),
			workqueue.TypedRateLimitingQueueConfig[schema.GroupVersion]{Name: "crd_autoregistration_controller"}),
		initialSync: make(chan struct{}),
	}
	enqueue := func(obj any) {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		if crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition); ok {
			for _, gv := range crdGroupVersions(crd) {
				c.queue.Add(gv)
			}
		}
	}
	if _, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue,
		// Both: a version removed from a CRD must be re-decided too.
		UpdateFunc: func(old, cur any) { enqueue(old); enqueue(cur) },
		DeleteFunc: enqueue,
	}); err != nil {
		return nil, fmt.Errorf("watching CRDs: %w", err)
	}
	return c, nil
}

// InitialSync is closed once the CRDs present at start have been registered, so that the
// autoregister controller's first sync does not delete their APIServices.
func (c *CRDRegistration) InitialSync() <-chan struct{} { return c.initialSync }

// Start registers the existing CRDs' group versions, then follows changes until ctx is done.
func (c *CRDRegistration) Start(ctx context.Context) error {
	defer c.queue.ShutDown()
	logger := klog.FromContext(ctx).WithName("crd-autoregistration")
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return fmt.Errorf("waiting for the CRD informer: %w", ctx.Err())
	}
	crds, err := c.crds.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("listing CRDs: %w", err)
	}
	for _, crd := range crds {
		for _, gv := range crdGroupVersions(crd) {
			if err := c.sync(gv); err != nil {
				return err
			}
		}
	}
	close(c.initialSync)
	go func() {
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	for c.next(logger) {
	}
	return nil
}

func (c *CRDRegistration) next(logger klog.Logger) bool {
	gv, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(gv)
	if err := c.sync(gv); err != nil {
		logger.Error(err, "Registering a CRD group version failed", "groupVersion", gv)
		c.queue.AddRateLimited(gv)
		return true
	}
	c.queue.Forget(gv)
	return true
}

// sync re-decides gv's APIService from the informer's CRDs.
func (c *CRDRegistration) sync(gv schema.GroupVersion) error {
	crds, err := c.crds.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("listing CRDs: %w", err)
	}
	if svc := CRDAPIService(crds, gv); svc != nil {
		c.registration.AddAPIServiceToSync(svc)
		return nil
	}
	c.registration.RemoveAPIServiceToSync(gv.Version + "." + gv.Group)
	return nil
}
