package policy

import (
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// PodDisruptionBudgetKind is policy/v1 poddisruptionbudgets: status cleared on create and kept
// by main updates, generation bumped by spec changes, as upstream's strategy.
var PodDisruptionBudgetKind = &registry.Kind{GroupVersion: policyv1.SchemeGroupVersion, Resource: "poddisruptionbudgets",
	Singular: "poddisruptionbudget", Namespaced: true, ShortNames: []string{"pdb"}, Status: true, Generation: true,
	New:     func() runtime.Object { return &policyv1.PodDisruptionBudget{} },
	NewList: func() runtime.Object { return &policyv1.PodDisruptionBudgetList{} }}

// Provider builds policy/v1.
type Provider struct{}

func (Provider) GroupName() string { return policyv1.GroupName }

func (Provider) NewRESTStorage(c *registry.Context) (map[string]map[string]rest.Storage, error) {
	m := map[string]rest.Storage{}
	if err := c.AddKinds(m, PodDisruptionBudgetKind); err != nil {
		return nil, err
	}
	return map[string]map[string]rest.Storage{policyv1.SchemeGroupVersion.Version: m}, nil
}
