package crd

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"fmt"
	"io"
	"path"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/yaml"
)

//go:embed bases/*.yaml
var bases embed.FS

// CRDs returns the project's CustomResourceDefinitions, parsed from the generated YAML.
func CRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	entries, err := bases.ReadDir("bases")
	if err != nil {
		return nil, fmt.Errorf("reading embedded CRDs: %w", err)
	}
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, e := range entries {
		b, err := bases.ReadFile(path.Join("bases", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", e.Name(), err)
		}
		crds, err := Parse(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		out = append(out, crds...)
	}
	return out, nil
}

// Parse reads the CustomResourceDefinitions of a (multi-document) YAML file.
func Parse(b []byte) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var out []*apiextensionsv1.CustomResourceDefinition
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 || string(bytes.TrimSpace(doc)) == "---" {
			continue
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(doc, crd); err != nil {
			return nil, fmt.Errorf("parsing a CustomResourceDefinition: %w", err)
		}
		if crd.Kind != "CustomResourceDefinition" {
			return nil, fmt.Errorf("%s %q is not a CustomResourceDefinition", crd.Kind, crd.Name)
		}
		out = append(out, crd)
	}
}

// Install creates the given CRDs (default: the project's own), or updates them when they differ,
// and waits until each is served (WaitServed), so clients can use its kind when Install returns.
func Install(ctx context.Context, cfg *rest.Config, crds ...*apiextensionsv1.CustomResourceDefinition) error {
	if len(crds) == 0 {
		var err error
		if crds, err = CRDs(); err != nil {
			return err
		}
	}
	client, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("apiextensions client: %w", err)
	}
	api := client.ApiextensionsV1().CustomResourceDefinitions()
	log := klog.FromContext(ctx)
	for _, want := range crds {
		cur, err := api.Get(ctx, want.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			if _, err := api.Create(ctx, want.DeepCopy(), metav1.CreateOptions{FieldManager: "skiff"}); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("creating CustomResourceDefinition %s: %w", want.Name, err)
			}
			log.V(1).Info("Installed CustomResourceDefinition", "name", want.Name)
		case err != nil:
			return fmt.Errorf("reading CustomResourceDefinition %s: %w", want.Name, err)
		default:
			if !sameSpec(cur, want) {
				upd := cur.DeepCopy()
				upd.Spec = want.Spec
				if upd.Annotations == nil {
					upd.Annotations = map[string]string{}
				}
				for k, v := range want.Annotations {
					upd.Annotations[k] = v
				}
				if _, err := api.Update(ctx, upd, metav1.UpdateOptions{FieldManager: "skiff"}); err != nil {
					return fmt.Errorf("updating CustomResourceDefinition %s: %w", want.Name, err)
				}
				log.V(1).Info("Updated CustomResourceDefinition", "name", want.Name)
			}
		}
	}
	return WaitServed(ctx, cfg, crds...)
}

// WaitServed waits until each CRD is Established and discovery (the aggregated document, which
// kubectl and controller-runtime read, and the group version's own list) has each served
// version's resource: Established alone comes a moment before clients can map the kind. A CRD
// whose names are refused fails at once.
func WaitServed(ctx context.Context, cfg *rest.Config, crds ...*apiextensionsv1.CustomResourceDefinition) error {
	client, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("apiextensions client: %w", err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("discovery client: %w", err)
	}
	api := client.ApiextensionsV1().CustomResourceDefinitions()
	for _, want := range crds {
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			cur, err := api.Get(ctx, want.Name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			for _, c := range cur.Status.Conditions {
				if c.Type == apiextensionsv1.NamesAccepted && c.Status == apiextensionsv1.ConditionFalse {
					return false, fmt.Errorf("names not accepted: %s", c.Message)
				}
				if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("CustomResourceDefinition %s not established: %w", want.Name, err)
		}
		for _, v := range want.Spec.Versions {
			if !v.Served {
				continue
			}
			gv := want.Spec.Group + "/" + v.Name
			err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
				_, all, _ := disco.ServerGroupsAndResources()
				l, err := disco.ServerResourcesForGroupVersion(gv)
				if err != nil {
					return false, nil
				}
				return hasResource(all, gv, want.Spec.Names.Plural) && hasResource([]*metav1.APIResourceList{l}, gv, want.Spec.Names.Plural), nil
			})
			if err != nil {
				return fmt.Errorf("%s of CustomResourceDefinition %s not in discovery: %w", gv, want.Name, err)
			}
		}
	}
	return nil
}

// sameSpec reports whether the installed CRD already has the wanted spec (ignoring the conversion
// strategy the server defaults); a false "different" only costs one update.
func sameSpec(cur, want *apiextensionsv1.CustomResourceDefinition) bool {
	if cur.Annotations["controller-gen.kubebuilder.io/version"] != want.Annotations["controller-gen.kubebuilder.io/version"] {
		return false
	}
	a, err1 := yaml.Marshal(want.Spec)
	c := cur.Spec.DeepCopy()
	// fields the server defaults that the generated YAML leaves empty
	if want.Spec.Conversion == nil {
		c.Conversion = nil
	}
	b, err2 := yaml.Marshal(c)
	return err1 == nil && err2 == nil && bytes.Equal(a, b)
}

// hasResource reports whether lists have resource in group version gv.
func hasResource(lists []*metav1.APIResourceList, gv, resource string) bool {
	for _, l := range lists {
		if l == nil || l.GroupVersion != gv {
			continue
		}
		for _, r := range l.APIResources {
			if r.Name == resource {
				return true
			}
		}
	}
	return false
}
