package aggregator

import (
	"fmt"
	"net/http"
	"sort"
	"sync"

	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/client-go/tools/cache"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	apiregistrationv1helper "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1/helper"
	informers "k8s.io/kube-aggregator/pkg/client/informers/externalversions/apiregistration/v1"
)

// pendingAPIServices are the APIServices not yet seen Available at least once.
type pendingAPIServices struct {
	mu      sync.RWMutex
	pending map[string]bool
}

func newPendingAPIServices(services []*apiregistrationv1.APIService) *pendingAPIServices {
	p := &pendingAPIServices{pending: map[string]bool{}}
	for _, s := range services {
		p.pending[s.Name] = true
	}
	return p
}

// observe drops svc from the pending set once it is Available; it never comes back.
func (p *pendingAPIServices) observe(svc *apiregistrationv1.APIService) {
	if !apiregistrationv1helper.IsAPIServiceConditionTrue(svc, apiregistrationv1.Available) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pending, svc.Name)
}

// check fails while any APIService is pending, with upstream's message.
func (p *pendingAPIServices) check(*http.Request) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if len(p.pending) == 0 {
		return nil
	}
	names := make([]string, 0, len(p.pending))
	for n := range p.pending {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Errorf("missing APIService: %v", names)
}

// newAvailableCheck is a health check that passes once every one of services has been observed
// Available at least once (kube-apiserver's autoregister-completion).
func newAvailableCheck(name string, services []*apiregistrationv1.APIService, informer informers.APIServiceInformer) (healthz.HealthChecker, error) {
	p := newPendingAPIServices(services)
	if _, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { observeObject(p, obj) },
		UpdateFunc: func(_, obj any) { observeObject(p, obj) },
	}); err != nil {
		return nil, fmt.Errorf("watching APIServices: %w", err)
	}
	return healthz.NamedCheck(name, p.check), nil
}

func observeObject(p *pendingAPIServices, obj any) {
	if svc, ok := obj.(*apiregistrationv1.APIService); ok {
		p.observe(svc)
	}
}
