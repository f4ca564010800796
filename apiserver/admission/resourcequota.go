package admission

import (
	"fmt"

	"k8s.io/apiserver/pkg/admission/plugin/resourcequota"
	resourcequotaapi "k8s.io/apiserver/pkg/admission/plugin/resourcequota/apis/resourcequota"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/skiff-dev/skiff/apis/quota"
)

// ResourceQuotaName is upstream's plugin name.
const ResourceQuotaName = "ResourceQuota"

// quotaWorkers is kube-apiserver's number of quota evaluation workers.
const quotaWorkers = 5

// NewResourceQuota returns k8s.io/apiserver's ResourceQuota plugin with Skiff's evaluators
// (apis/quota): requests that would take a namespace over one of its quotas are refused with
// upstream's "exceeded quota: <name>, requested: ..., used: ..., limited: ..." and 403, and
// admitted ones are charged to status.used through an update conditioned on the quota's
// resourceVersion, so concurrent requests cannot overspend it. The evaluation workers stop when
// stop is closed.
func NewResourceQuota(client kubernetes.Interface, factory informers.SharedInformerFactory, stop <-chan struct{}) (*resourcequota.QuotaAdmission, error) {
	plugin, err := resourcequota.NewResourceQuota(&resourcequotaapi.Configuration{}, quotaWorkers)
	if err != nil {
		return nil, fmt.Errorf("resource quota admission: %w", err)
	}
	plugin.SetDrainedNotification(stop)
	plugin.SetExternalKubeClientSet(client)
	plugin.SetExternalKubeInformerFactory(factory)
	plugin.SetQuotaConfiguration(quota.Configuration(nil, clock.RealClock{}))
	if err := plugin.ValidateInitialization(); err != nil {
		return nil, fmt.Errorf("resource quota admission: %w", err)
	}
	return plugin, nil
}
