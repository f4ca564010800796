package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"

	"github.com/skiff-dev/skiff/config/crd"
)

// loadCRDs reads the CustomResourceDefinitions in the given files and directories.
func loadCRDs(paths []string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("CRD path: %w", err)
		}
		files := []string{p}
		if st.IsDir() {
			entries, err := os.ReadDir(p)
			if err != nil {
				return nil, fmt.Errorf("CRD directory: %w", err)
			}
			files = nil
			for _, e := range entries {
				ext := strings.ToLower(filepath.Ext(e.Name()))
				if !e.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
					files = append(files, filepath.Join(p, e.Name()))
				}
			}
		}
		var found int
		for _, f := range files {
			got, err := readCRDFile(f)
			if err != nil {
				return nil, err
			}
			found += len(got)
			crds = append(crds, got...)
		}
		if found == 0 {
			return nil, fmt.Errorf("no CustomResourceDefinition in %s", p)
		}
	}
	return crds, nil
}

// readCRDFile decodes every apiextensions.k8s.io/v1 CustomResourceDefinition of a YAML or JSON
// file with one or more documents.
func readCRDFile(path string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading CRDs: %w", err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var crds []*apiextensionsv1.CustomResourceDefinition
	for i := 0; ; i++ {
		var u unstructured.Unstructured
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return crds, nil
			}
			return nil, fmt.Errorf("%s: document %d: %w", path, i+1, err)
		}
		if u.Object == nil || u.GetKind() != "CustomResourceDefinition" {
			continue
		}
		if gv := u.GetAPIVersion(); gv != apiextensionsv1.SchemeGroupVersion.String() {
			return nil, fmt.Errorf("%s: document %d: CustomResourceDefinition of %s: only %s is served",
				path, i+1, gv, apiextensionsv1.SchemeGroupVersion)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, crd, true); err != nil {
			return nil, fmt.Errorf("%s: document %d (%s): %w", path, i+1, u.GetName(), err)
		}
		crds = append(crds, crd)
	}
}

// installCRDs creates (or updates) the CRDs, waits until each is Established and every served
// version is listed by discovery (crd.Install), and returns them as the server has them.
func installCRDs(ctx context.Context, cfg *rest.Config, crds []*apiextensionsv1.CustomResourceDefinition) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	if len(crds) == 0 {
		return nil, nil
	}
	if err := crd.Install(ctx, cfg, crds...); err != nil {
		return nil, err
	}
	cs, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("apiextensions client: %w", err)
	}
	installed := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(crds))
	for _, c := range crds {
		cur, err := cs.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, c.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading CustomResourceDefinition %s: %w", c.Name, err)
		}
		installed = append(installed, cur)
	}
	return installed, nil
}
