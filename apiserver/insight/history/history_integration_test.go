package history_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/apiserver/insight/history"
	"github.com/skiff-dev/skiff/test/poll"
)

func getHistory(t *testing.T, c kubernetes.Interface, params map[string]string) history.Response {
	t.Helper()
	req := c.CoreV1().RESTClient().Get().AbsPath(history.Path)
	for k, v := range params {
		req = req.Param(k, v)
	}
	body, err := req.DoRaw(context.Background())
	if err != nil {
		t.Fatalf("GET %s: %v: %s", history.Path, err, body)
	}
	var resp history.Response
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return resp
}

// TestHistory: a ConfigMap created and updated twice (the second time by an impersonated user)
// has three revisions with their diffs, managers and users; its deletion is the fourth; a
// Secret, encrypted at rest, is decoded.
func TestHistory(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	admin := s.Client

	_, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "alice-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: "alice"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	aliceCfg := rest.CopyConfig(s.Config)
	aliceCfg.Impersonate = rest.ImpersonationConfig{UserName: "alice"}
	alice := kubernetes.NewForConfigOrDie(aliceCfg)

	cms := admin.CoreV1().ConfigMaps("default")
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app"}, Data: map[string]string{"color": "red"}},
		metav1.CreateOptions{FieldManager: "creator"})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["color"] = "green"
	if cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "editor"}); err != nil {
		t.Fatal(err)
	}
	cm.Data["size"] = "large"
	poll.Eventually(t, "alice may update configmaps", func() error {
		_, err := alice.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{FieldManager: "alice-tool"})
		return err
	})

	resp := getHistory(t, admin, map[string]string{"version": "v1", "resource": "configmaps", "namespace": "default", "name": "app"})
	if len(resp.Revisions) != 3 || resp.Compacted {
		t.Fatalf("%d revisions (compacted %v), want 3: %+v", len(resp.Revisions), resp.Compacted, resp.Revisions)
	}
	want := []struct {
		manager, user, operation string
		diff                     []string
	}{
		{"creator", "skiff-admin", "create", []string{"+ apiVersion: v1", "+   color: red", "+ kind: ConfigMap"}},
		{"editor", "skiff-admin", "update", []string{"-   color: red", "+   color: green"}},
		{"alice-tool", "alice", "update", []string{"+   size: large"}},
	}
	for i, w := range want {
		r := resp.Revisions[i]
		if r.Manager != w.manager || r.User != w.user || r.Operation != w.operation || r.Time.IsZero() {
			t.Errorf("revision %d: manager %q user %q operation %q time %v, want %q %q %q", i, r.Manager, r.User, r.Operation, r.Time, w.manager, w.user, w.operation)
		}
		for _, line := range w.diff {
			if !strings.Contains(r.Diff, line+"\n") {
				t.Errorf("revision %d: diff lacks %q:\n%s", i, line, r.Diff)
			}
		}
		if strings.Contains(r.Diff, "managedFields") || strings.Contains(r.Diff, "resourceVersion") {
			t.Errorf("revision %d: diff shows managedFields or resourceVersion:\n%s", i, r.Diff)
		}
		var obj corev1.ConfigMap
		if err := json.Unmarshal(r.Object, &obj); err != nil || obj.ResourceVersion != r.ResourceVersion {
			t.Errorf("revision %d: object %s (%v)", i, r.Object, err)
		}
	}
	if last := resp.Revisions[2]; strings.Contains(last.Diff, "color") && !strings.Contains(last.Diff, "  color: green") {
		t.Errorf("the last diff's context is wrong:\n%s", last.Diff)
	}

	if err := alice.CoreV1().ConfigMaps("default").Delete(ctx, "app", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	resp = getHistory(t, admin, map[string]string{"version": "v1", "resource": "configmaps", "namespace": "default", "name": "app"})
	if n := len(resp.Revisions); n != 4 || !resp.Revisions[3].Deleted || resp.Revisions[3].User != "alice" || resp.Revisions[3].Operation != "delete" {
		t.Errorf("after the deletion: %+v", resp.Revisions)
	}

	t.Run("secret encrypted at rest", func(t *testing.T) {
		_, err := admin.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pw"},
			StringData: map[string]string{"password": "hunter2"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		resp := getHistory(t, admin, map[string]string{"version": "v1", "resource": "secrets", "namespace": "default", "name": "pw"})
		if len(resp.Revisions) != 1 || !strings.Contains(resp.Revisions[0].Diff, "password: aHVudGVyMg==") {
			t.Errorf("secret: %+v", resp.Revisions)
		}
	})
	t.Run("cluster-scoped, group with a version chosen by the server", func(t *testing.T) {
		resp := getHistory(t, admin, map[string]string{"group": "rbac.authorization.k8s.io", "resource": "clusterrolebindings", "name": "alice-admin"})
		if len(resp.Revisions) != 1 || !strings.Contains(resp.Revisions[0].Diff, "+ apiVersion: rbac.authorization.k8s.io/v1") {
			t.Errorf("clusterrolebinding: %+v", resp.Revisions)
		}
	})
	t.Run("custom resource", func(t *testing.T) {
		crds := apiextensionsclient.NewForConfigOrDie(s.Config).ApiextensionsV1().CustomResourceDefinitions()
		_, err := crds.Create(ctx, &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: "example.com", Scope: apiextensionsv1.NamespaceScoped,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object",
						XPreserveUnknownFields: ptr.To(true)}}}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		gvr := schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
		widgets := dynamic.NewForConfigOrDie(s.Config).Resource(gvr).Namespace("default")
		w := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget",
			"metadata": map[string]any{"name": "w"}, "size": int64(1)}}
		poll.Eventually(t, "the widget is created", func() error {
			created, err := widgets.Create(ctx, w, metav1.CreateOptions{FieldManager: "maker"})
			if err == nil {
				w = created
			}
			return err
		})
		w.Object["size"] = int64(2)
		if _, err := widgets.Update(ctx, w, metav1.UpdateOptions{FieldManager: "grower"}); err != nil {
			t.Fatal(err)
		}
		resp := getHistory(t, admin, map[string]string{"group": "example.com", "version": "v1", "resource": "widgets", "namespace": "default", "name": "w"})
		if len(resp.Revisions) != 2 || resp.Revisions[1].Manager != "grower" || resp.Revisions[1].User != "skiff-admin" ||
			!strings.Contains(resp.Revisions[1].Diff, "- size: 1\n+ size: 2\n") {
			t.Errorf("widget: %+v", resp.Revisions)
		}
	})
	t.Run("not found", func(t *testing.T) {
		body, err := admin.CoreV1().RESTClient().Get().AbsPath(history.Path).Param("resource", "configmaps").
			Param("namespace", "default").Param("name", "nope").DoRaw(ctx)
		if !apierrors.IsNotFound(err) || !strings.Contains(string(body), `configmaps \"nope\" not found`) {
			t.Errorf("missing object: %v: %s", err, body)
		}
	})
}
