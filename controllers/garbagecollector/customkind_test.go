package garbagecollector_test

import (
	"context"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/garbagecollector"
	"github.com/skiff-dev/skiff/test/poll"
)

// A kind defined after the collector started is watched as soon as its CustomResourceDefinition
// is established, not a whole ResyncPeriod later: deleting an owner of that kind right away
// collects its dependents.
func TestCustomKindCollectedBeforeResync(t *testing.T) {
	var gc *garbagecollector.GarbageCollector
	s := controllertest.Start(t, func(mgr manager.Manager) error {
		var err error
		gc, err = garbagecollector.New(mgr.GetConfig(), garbagecollector.Config{Workers: 2, ResyncPeriod: time.Hour}, nil)
		if err != nil {
			return err
		}
		return mgr.Add(gc)
	})
	ctx := t.Context()
	c := s.Client
	createNS(t, c, "custom")

	ext := apiextensionsclient.NewForConfigOrDie(s.Config)
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "greetings.gc.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "gc.example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "greetings", Singular: "greeting", Kind: "Greeting", ListKind: "GreetingList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr.To(true),
				}},
			}},
		},
	}
	if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Group: "gc.example.com", Version: "v1", Resource: "greetings"}
	dc := dynamic.NewForConfigOrDie(s.Config)
	var owner *unstructured.Unstructured
	poll.Eventually(t, "greeting created", func() error {
		var err error
		owner, err = dc.Resource(gvr).Namespace("custom").Create(ctx, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "gc.example.com/v1", "kind": "Greeting", "metadata": map[string]any{"name": "world"},
		}}, metav1.CreateOptions{})
		return err
	})
	configMap(t, c, "custom", "world-greeting", ref("gc.example.com/v1", "Greeting", owner.GetName(), owner.GetUID(), true))
	poll.Until(t, 10*time.Second, "the collector watches the new kind", poll.Check(func() (bool, string) {
		return gc.Observed(owner.GetUID()), "owner known only from references"
	}))
	if err := dc.Resource(gvr).Namespace("custom").Delete(ctx, "world", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 20*time.Second, "dependent of the custom kind deleted", poll.Cond(ctx, func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().ConfigMaps("custom").Get(ctx, "world-greeting", metav1.GetOptions{})
		return gone(err)
	}))
}
