package autoscaling

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// HorizontalPodAutoscalerKind is autoscaling/v2 horizontalpodautoscalers (`hpa`, in `all`,
// `status`): status cleared on create and kept by main updates, as upstream's strategy.
var HorizontalPodAutoscalerKind = &registry.Kind{GroupVersion: autoscalingv2.SchemeGroupVersion, Resource: "horizontalpodautoscalers",
	Singular: "horizontalpodautoscaler", Namespaced: true, ShortNames: []string{"hpa"}, Categories: []string{"all"}, Status: true,
	New:     func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscaler{} },
	NewList: func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscalerList{} }}

// Provider builds autoscaling/v2 and autoscaling/v1 (v2 first: the preferred version).
type Provider struct{}

func (Provider) GroupName() string { return autoscalingv2.GroupName }

func (Provider) NewRESTStorage(c *registry.Context) (map[string]map[string]rest.Storage, error) {
	st, err := c.NewStorage(HorizontalPodAutoscalerKind)
	if err != nil {
		return nil, err
	}
	paths := st.Paths(HorizontalPodAutoscalerKind)
	// One store serves both versions: the codecs convert v1 bodies to and from the stored v2.
	return map[string]map[string]rest.Storage{
		autoscalingv2.SchemeGroupVersion.Version: paths,
		autoscalingv1.SchemeGroupVersion.Version: paths,
	}, nil
}
