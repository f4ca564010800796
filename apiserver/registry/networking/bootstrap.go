package networking

import (
	"context"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/apiserver/registry"
)

// DefaultIngressClass is the built-in class `skiff`: the default one, served by the ingress
// controller of every node agent (nodeagent/ingress).
func DefaultIngressClass() *networkingv1.IngressClass {
	return &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        helper.IngressClassName,
			Annotations: map[string]string{helper.AnnDefaultIngressClass: "true"},
		},
		Spec: networkingv1.IngressClassSpec{Controller: helper.IngressController},
	}
}

// EnsureDefaultIngressClass creates DefaultIngressClass unless a class of its name exists,
// retrying until ctx ends. An existing class is left as it is; a deleted one comes back at the
// next start (Options.DisableIngress turns this off).
func EnsureDefaultIngressClass(ctx context.Context, client kubernetes.Interface) error {
	c := DefaultIngressClass()
	return registry.EnsureCreated(ctx, "IngressClass", c.Name, func(ctx context.Context) error {
		_, err := client.NetworkingV1().IngressClasses().Create(ctx, c, metav1.CreateOptions{})
		return err
	})
}
