package aggregator_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregatorclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/test/poll"
)

// availability is an APIService's Available condition as "Status/Reason".
func availability(svc *apiregistrationv1.APIService) string {
	for _, c := range svc.Status.Conditions {
		if c.Type == apiregistrationv1.Available {
			return string(c.Status) + "/" + c.Reason
		}
	}
	return "none"
}

// TestLocalAPIServices: every built-in group version and a CRD's have a local APIService that
// becomes Available, and kubectl's table has upstream's columns.
func TestLocalAPIServices(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	apiServices := aggregatorclient.NewForConfigOrDie(s.Config).ApiregistrationV1().APIServices()
	createCRD(t, s, "gadgets", "Gadget")

	for _, name := range []string{"v1.", "v1.apps", "v1.rbac.authorization.k8s.io", "v1.apiextensions.k8s.io", "v1.admissionregistration.k8s.io", "v1.skiff.test"} {
		poll.Eventually(t, name+" Available", func() error {
			svc, err := apiServices.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if got := availability(svc); got != "True/Local" {
				return fmt.Errorf("Available %s", got)
			}
			return nil
		})
	}
	var table metav1.Table
	raw, err := s.Client.Discovery().RESTClient().Get().AbsPath("/apis/apiregistration.k8s.io/v1/apiservices/v1.apps").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatal(err)
	}
	var columns []string
	for _, c := range table.ColumnDefinitions {
		columns = append(columns, c.Name)
	}
	if got := strings.Join(columns, ","); got != "Name,Service,Available,Age" {
		t.Errorf("columns %s, want upstream's Name,Service,Available,Age", got)
	}
	if len(table.Rows) != 1 || fmt.Sprint(table.Rows[0].Cells[:3]) != "[v1.apps Local True]" {
		t.Errorf("rows %v", table.Rows)
	}

	// After a restart the CRD's APIService is kept, not deleted and recreated: the CRD
	// registration syncs before the autoregister controller's first pass, as upstream.
	before, err := apiServices.Get(ctx, "v1.skiff.test", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Stop()
	s = apiservertest.StartOn(t, s.DataDir)
	after, err := aggregatorclient.NewForConfigOrDie(s.Config).ApiregistrationV1().APIServices().Get(ctx, "v1.skiff.test", metav1.GetOptions{})
	if err != nil || after.UID != before.UID {
		t.Errorf("v1.skiff.test after a restart: %v (uid %s, was %s)", err, after.GetUID(), before.UID)
	}
}

// remoteAPI is a fake extension API server for metrics.skiff.test/v1beta1 that records the front
// proxy's identity.
type remoteAPI struct {
	mu   sync.Mutex
	seen []string // "<client cert CN> <X-Remote-User> <X-Remote-Group...>" per widgets request
	peer *x509.Certificate
}

func (r *remoteAPI) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch req.URL.Path {
	case "/apis":
		_ = json.NewEncoder(w).Encode(metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"},
			Groups: []metav1.APIGroup{{Name: "metrics.skiff.test",
				Versions:         []metav1.GroupVersionForDiscovery{{GroupVersion: "metrics.skiff.test/v1beta1", Version: "v1beta1"}},
				PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: "metrics.skiff.test/v1beta1", Version: "v1beta1"}}}})
	case "/apis/metrics.skiff.test/v1beta1":
		_ = json.NewEncoder(w).Encode(metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
			GroupVersion: "metrics.skiff.test/v1beta1",
			APIResources: []metav1.APIResource{{Name: "widgets", Kind: "Widget", Namespaced: true, Verbs: []string{"get", "list"}}}})
	case "/apis/metrics.skiff.test/v1beta1/namespaces/default/widgets":
		cn := "none"
		if req.TLS != nil && len(req.TLS.PeerCertificates) > 0 {
			cn = req.TLS.PeerCertificates[0].Subject.CommonName
		}
		r.mu.Lock()
		if req.TLS != nil && len(req.TLS.PeerCertificates) > 0 {
			r.peer = req.TLS.PeerCertificates[0]
		}
		r.seen = append(r.seen, strings.Join(append([]string{cn, req.Header.Get("X-Remote-User")}, req.Header.Values("X-Remote-Group")...), " "))
		r.mu.Unlock()
		fmt.Fprint(w, `{"kind":"WidgetList","apiVersion":"metrics.skiff.test/v1beta1","metadata":{},"items":[]}`)
	case "/openapi/v2":
		fmt.Fprint(w, `{"swagger":"2.0","info":{"title":"remote","version":"v1"},"paths":{`+
			`"/apis/metrics.skiff.test/v1beta1/namespaces/{namespace}/widgets":{"get":{"responses":{"200":{"description":"OK"}}}}},`+
			`"definitions":{"test.skiff.metrics.v1beta1.Widget":{"type":"object"}}}`)
	case "/openapi/v3":
		fmt.Fprint(w, `{"paths":{"apis/metrics.skiff.test/v1beta1":{"serverRelativeURL":"/openapi/v3/apis/metrics.skiff.test/v1beta1?hash=1"}}}`)
	case "/openapi/v3/apis/metrics.skiff.test/v1beta1":
		fmt.Fprint(w, `{"openapi":"3.0.0","info":{"title":"remote","version":"v1"},"paths":{},`+
			`"components":{"schemas":{"test.skiff.metrics.v1beta1.Widget":{"type":"object"}}}}`)
	default:
		http.NotFound(w, req)
	}
}

// TestRemoteAPIService: an APIService backed by a Service (no URL) reaches a local TLS server
// through the shared service resolver, with the front proxy's client certificate and headers;
// its group is in discovery; APIServices whose Service is missing, has no EndpointSlices or does
// not serve the group version are unavailable with upstream's reasons.
func TestRemoteAPIService(t *testing.T) {
	s := apiservertest.Start(t)
	c, ctx := s.Client, context.Background()
	remote := &remoteAPI{}
	backend := s.ServeThroughService(t, "default", "remote", remote, func(c *tls.Config) { c.ClientAuth = tls.RequestClientCert })
	ca := backend.CA
	// A Service without EndpointSlices.
	if _, err := c.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "empty"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(backend.Port)}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	apiServices := aggregatorclient.NewForConfigOrDie(s.Config).ApiregistrationV1().APIServices()
	for _, tc := range []struct{ group, service, want string }{
		{"metrics.skiff.test", "remote", "True/Passed"},
		{"missing.skiff.test", "missing", "False/ServiceNotFound"},
		{"empty.skiff.test", "empty", "False/EndpointsNotFound"},
		// The backend does not serve this group version.
		{"broken.skiff.test", "remote", "False/FailedDiscoveryCheck"},
	} {
		svc := &apiregistrationv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: "v1beta1." + tc.group},
			Spec: apiregistrationv1.APIServiceSpec{Group: tc.group, Version: "v1beta1", CABundle: ca.CertPEM,
				Service:              &apiregistrationv1.ServiceReference{Namespace: "default", Name: tc.service, Port: ptr.To[int32](443)},
				GroupPriorityMinimum: 100, VersionPriority: 100}}
		if _, err := apiServices.Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Run(tc.group, func(t *testing.T) {
			poll.Eventually(t, svc.Name+" "+tc.want, func() error {
				got, err := apiServices.Get(ctx, svc.Name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				if a := availability(got); a != tc.want {
					return fmt.Errorf("Available %s", a)
				}
				return nil
			})
		})
	}

	t.Run("proxied with front-proxy identity", func(t *testing.T) {
		if _, err := c.RESTClient().Get().AbsPath("/apis/metrics.skiff.test/v1beta1/namespaces/default/widgets").DoRaw(ctx); err != nil {
			t.Fatal(err)
		}
		remote.mu.Lock()
		defer remote.mu.Unlock()
		if len(remote.seen) == 0 || remote.seen[len(remote.seen)-1] != "front-proxy-client skiff-admin system:masters system:authenticated" {
			t.Errorf("the remote saw %q, want the front proxy's certificate and the admin in X-Remote-User/Group", remote.seen)
		}
		// An extension API server trusts the front proxy from kube-system/extension-apiserver-authentication.
		cm, err := c.CoreV1().ConfigMaps("kube-system").Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM([]byte(cm.Data["requestheader-client-ca-file"])) || remote.peer == nil {
			t.Fatalf("no requestheader CA in %v or no client certificate seen", cm.Data)
		}
		if _, err := remote.peer.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("the front proxy's certificate against the published requestheader CA: %v", err)
		}
		if got := cm.Data["requestheader-allowed-names"] + cm.Data["requestheader-username-headers"] + cm.Data["requestheader-group-headers"] +
			cm.Data["requestheader-extra-headers-prefix"]; got != `["front-proxy-client"]["X-Remote-User"]["X-Remote-Group"]["X-Remote-Extra-"]` {
			t.Errorf("requestheader settings %s", got)
		}
		if cm.Data["client-ca-file"] == "" {
			t.Errorf("no client-ca-file")
		}
	})
	t.Run("extension server's delegated authentication", func(t *testing.T) {
		// What metrics-server's manifests bind: system:auth-delegator and, in kube-system,
		// extension-apiserver-authentication-reader.
		if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ext:auth-delegator"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:auth-delegator"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "ext"}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.RbacV1().RoleBindings("kube-system").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ext:auth-reader"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "extension-apiserver-authentication-reader"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "ext"}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		cfg := rest.CopyConfig(s.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: "ext"}
		ext := kubernetes.NewForConfigOrDie(cfg)
		poll.Eventually(t, "ext reads the ConfigMap and reviews access", func() error {
			if _, err := ext.CoreV1().ConfigMaps("kube-system").Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{}); err != nil {
				return err
			}
			_, err := ext.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: "someone", ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "pods"}}}, metav1.CreateOptions{})
			return err
		})
	})
	t.Run("the server itself trusts the front proxy", func(t *testing.T) {
		cfg := rest.AnonymousClientConfig(s.Config)
		cfg.CertFile, cfg.KeyFile = filepath.Join(s.DataDir, "pki", "front-proxy-client.crt"), filepath.Join(s.DataDir, "pki", "front-proxy-client.key")
		cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
			return transport.NewAuthProxyRoundTripper("alice", "", []string{"devs"}, nil, rt)
		}
		review, err := kubernetes.NewForConfigOrDie(cfg).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if u := review.Status.UserInfo; u.Username != "alice" || fmt.Sprint(u.Groups) != "[devs system:authenticated]" {
			t.Errorf("authenticated as %+v, want alice in devs", u)
		}
	})
	t.Run("openapi", func(t *testing.T) {
		rest := c.Discovery().RESTClient()
		poll.Eventually(t, "the remote's OpenAPI v2 and v3 merged", func() error {
			v2, err := rest.Get().AbsPath("/openapi/v2").SetHeader("Accept", "application/json").DoRaw(ctx)
			if err != nil {
				return err
			}
			if !strings.Contains(string(v2), `"/apis/metrics.skiff.test/v1beta1/namespaces/{namespace}/widgets"`) {
				return fmt.Errorf("/openapi/v2 lacks the remote's paths")
			}
			v3, err := rest.Get().AbsPath("/openapi/v3/apis/metrics.skiff.test/v1beta1").DoRaw(ctx)
			if err != nil {
				return fmt.Errorf("/openapi/v3/apis/metrics.skiff.test/v1beta1: %w", err)
			}
			if !strings.Contains(string(v3), `"test.skiff.metrics.v1beta1.Widget"`) {
				return fmt.Errorf("the remote's v3 document lacks its schema: %s", v3)
			}
			return nil
		})
	})
	t.Run("discovery", func(t *testing.T) {
		poll.Eventually(t, "metrics.skiff.test in legacy and aggregated discovery", func() error {
			groups, err := c.Discovery().ServerGroups()
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(groups.Groups, func(g metav1.APIGroup) bool { return g.Name == "metrics.skiff.test" }) {
				return fmt.Errorf("legacy /apis lacks metrics.skiff.test")
			}
			// The unavailable APIServices' group versions are reported stale, as upstream.
			_, resources, err := c.Discovery().ServerGroupsAndResources()
			if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
				return err
			}
			for _, l := range resources {
				if l.GroupVersion == "metrics.skiff.test/v1beta1" && len(l.APIResources) == 1 && l.APIResources[0].Name == "widgets" {
					return nil
				}
			}
			return fmt.Errorf("aggregated discovery lacks metrics.skiff.test/v1beta1 widgets")
		})
	})
}

// TestCRDOpenAPI: a CRD's schema is published in /openapi/v2 and /openapi/v3 within seconds of
// its creation and leaves on deletion (upstream's CustomResourcePublishOpenAPI).
func TestCRDOpenAPI(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	rest := s.Client.Discovery().RESTClient()
	published := func() (v2, v3 bool, err error) {
		raw, err := rest.Get().AbsPath("/openapi/v2").SetHeader("Accept", "application/json").DoRaw(ctx)
		if err != nil {
			return false, false, err
		}
		v2 = strings.Contains(string(raw), `"/apis/skiff.test/v1/namespaces/{namespace}/gizmos"`) &&
			strings.Contains(string(raw), `"test.skiff.v1.Gizmo"`)
		if raw, err = rest.Get().AbsPath("/openapi/v3").DoRaw(ctx); err != nil {
			return false, false, err
		}
		var root struct {
			Paths map[string]struct {
				URL string `json:"serverRelativeURL"`
			} `json:"paths"`
		}
		if err := json.Unmarshal(raw, &root); err != nil {
			return false, false, err
		}
		entry, ok := root.Paths["apis/skiff.test/v1"]
		if ok {
			raw, err := rest.Get().RequestURI(entry.URL).DoRaw(ctx)
			if err != nil {
				return false, false, err
			}
			v3 = strings.Contains(string(raw), `"test.skiff.v1.Gizmo"`)
		}
		return v2, v3, nil
	}
	start := time.Now()
	createCRD(t, s, "gizmos", "Gizmo")
	poll.Eventually(t, "the CRD's schema in /openapi/v2 and /openapi/v3", func() error {
		v2, v3, err := published()
		if err != nil || !v2 || !v3 {
			return fmt.Errorf("v2 %v, v3 %v, err %v", v2, v3, err)
		}
		return nil
	})
	t.Logf("published after %s", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if err := apiextensionsclient.NewForConfigOrDie(s.Config).ApiextensionsV1().CustomResourceDefinitions().
		Delete(ctx, "gizmos.skiff.test", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "the CRD's schema gone from /openapi/v2 and /openapi/v3", func() error {
		v2, v3, err := published()
		if err != nil || v2 || v3 {
			return fmt.Errorf("v2 %v, v3 %v, err %v", v2, v3, err)
		}
		return nil
	})
	t.Logf("gone after %s", time.Since(start).Round(time.Millisecond))
}

// createCRD creates the namespaced CRD <plural>.skiff.test, served at v1 with a typed schema.
func createCRD(t *testing.T, s *apiservertest.Server, plural, kind string) {
	t.Helper()
	schema := &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object",
		Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {Type: "object",
			Properties: map[string]apiextensionsv1.JSONSchemaProps{"size": {Type: "integer"}}}}}}
	_, err := apiextensionsclient.NewForConfigOrDie(s.Config).ApiextensionsV1().CustomResourceDefinitions().Create(context.Background(),
		&apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: plural + ".skiff.test"},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: "skiff.test", Scope: apiextensionsv1.NamespaceScoped,
				Names:    apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Kind: kind, ListKind: kind + "List"},
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true, Schema: schema}}}},
		metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}
