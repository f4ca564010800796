package scheduling

import (
	"context"
	"fmt"

	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/apis/validation"
	"github.com/skiff-dev/skiff/apiserver/registry"
)

// PriorityClassKind is scheduling.k8s.io/v1 priorityclasses (cluster-scoped).
var PriorityClassKind = &registry.Kind{GroupVersion: schedulingv1.SchemeGroupVersion, Resource: "priorityclasses", Singular: "priorityclass",
	ShortNames: []string{"pc"}, Generation: true,
	New:     func() runtime.Object { return &schedulingv1.PriorityClass{} },
	NewList: func() runtime.Object { return &schedulingv1.PriorityClassList{} }}

// Provider builds scheduling.k8s.io/v1.
type Provider struct{}

func (Provider) GroupName() string { return schedulingv1.GroupName }

func (Provider) NewRESTStorage(c *registry.Context) (map[string]map[string]rest.Storage, error) {
	st, err := c.NewStorage(PriorityClassKind)
	if err != nil {
		return nil, err
	}
	m := map[string]rest.Storage{}
	for path, s := range st.Paths(PriorityClassKind) {
		m[path] = s
	}
	m["priorityclasses"] = &priorityClassREST{Store: st.Store}
	return map[string]map[string]rest.Storage{schedulingv1.SchemeGroupVersion.Version: m}, nil
}

// priorityClassREST refuses to delete the built-in classes, as upstream's.
type priorityClassREST struct {
	*genericregistry.Store
}

func (r *priorityClassREST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	if validation.IsSystemPriorityClass(name) {
		return nil, false, apierrors.NewForbidden(PriorityClassKind.GroupResource(), name,
			fmt.Errorf("this is a system priority class and cannot be deleted"))
	}
	return r.Store.Delete(ctx, name, deleteValidation, options)
}

// EnsureSystemPriorityClasses creates the built-in classes that do not exist, retrying until ctx
// ends (the API server's post-start hook "scheduling/bootstrap-system-priority-classes").
func EnsureSystemPriorityClasses(ctx context.Context, client kubernetes.Interface) error {
	for _, pc := range validation.SystemPriorityClasses() {
		err := registry.EnsureCreated(ctx, "PriorityClass", pc.Name, func(ctx context.Context) error {
			_, err := client.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{})
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
