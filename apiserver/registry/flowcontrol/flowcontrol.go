package flowcontrol

import (
	"context"
	"slices"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	fcboot "k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// FlowSchemaKind is flowcontrol.apiserver.k8s.io/v1 flowschemas (cluster-scoped).
var FlowSchemaKind = &registry.Kind{GroupVersion: flowcontrolv1.SchemeGroupVersion, Resource: "flowschemas", Singular: "flowschema",
	Generation: true, Status: true,
	New:     func() runtime.Object { return &flowcontrolv1.FlowSchema{} },
	NewList: func() runtime.Object { return &flowcontrolv1.FlowSchemaList{} }}

// PriorityLevelConfigurationKind is flowcontrol.apiserver.k8s.io/v1 prioritylevelconfigurations
// (cluster-scoped).
var PriorityLevelConfigurationKind = &registry.Kind{GroupVersion: flowcontrolv1.SchemeGroupVersion, Resource: "prioritylevelconfigurations",
	Singular: "prioritylevelconfiguration", Generation: true, Status: true,
	New:     func() runtime.Object { return &flowcontrolv1.PriorityLevelConfiguration{} },
	NewList: func() runtime.Object { return &flowcontrolv1.PriorityLevelConfigurationList{} }}

// Provider builds flowcontrol.apiserver.k8s.io/v1.
type Provider struct{}

func (Provider) GroupName() string { return flowcontrolv1.GroupName }

func (Provider) NewRESTStorage(c *registry.Context) (map[string]map[string]rest.Storage, error) {
	m := map[string]rest.Storage{}
	if err := c.AddKinds(m, FlowSchemaKind, PriorityLevelConfigurationKind); err != nil {
		return nil, err
	}
	return map[string]map[string]rest.Storage{flowcontrolv1.SchemeGroupVersion.Version: m}, nil
}

// EnsureConfiguration creates the mandatory and suggested priority levels and flow schemas that
// do not exist (with k8s.io/apiserver's bootstrap objects' apf.kubernetes.io/autoupdate-spec
// annotation), retrying until ctx ends (the API server's post-start hook
// "priority-and-fairness-config-producer"). Existing objects are left alone.
func EnsureConfiguration(ctx context.Context, client kubernetes.Interface) error {
	fc := client.FlowcontrolV1()
	levels := slices.Concat(fcboot.MandatoryPriorityLevelConfigurations, fcboot.SuggestedPriorityLevelConfigurations)
	for _, pl := range levels {
		err := registry.EnsureCreated(ctx, "PriorityLevelConfiguration", pl.Name, func(ctx context.Context) error {
			_, err := fc.PriorityLevelConfigurations().Create(ctx, pl, metav1.CreateOptions{FieldManager: fieldManager})
			return err
		})
		if err != nil {
			return err
		}
	}
	schemas := slices.Concat(fcboot.MandatoryFlowSchemas, fcboot.SuggestedFlowSchemas)
	for _, fs := range schemas {
		err := registry.EnsureCreated(ctx, "FlowSchema", fs.Name, func(ctx context.Context) error {
			_, err := fc.FlowSchemas().Create(ctx, fs, metav1.CreateOptions{FieldManager: fieldManager})
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// fieldManager is upstream's ensurer's field manager.
const fieldManager = "api-priority-and-fairness-config-producer-v1"
