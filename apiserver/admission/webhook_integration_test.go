package admission_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/test/poll"
)

// webhookServer is a test HTTPS webhook (webhookHandler) with httptest's self-signed
// certificate, and that certificate as a caBundle.
func webhookServer(t *testing.T) (*httptest.Server, []byte) {
	h, release := webhookHandler()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(release) // first
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return srv, ca
}

// webhookHandler serves /validate, which denies objects labelled deny=true, /mutate, which
// adds the label mutated=yes, and /hang, which never answers before its caller gives up or
// the handler is released (a server's Close waits for its handlers): release it before closing.
func webhookHandler() (h http.Handler, release func()) {
	ended := make(chan struct{})
	review := func(w http.ResponseWriter, r *http.Request, respond func(obj metav1.PartialObjectMetadata) *admissionv1.AdmissionResponse) {
		var in admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		var obj metav1.PartialObjectMetadata
		_ = json.Unmarshal(in.Request.Object.Raw, &obj)
		resp := respond(obj)
		resp.UID = in.Request.UID
		out := admissionv1.AdmissionReview{TypeMeta: in.TypeMeta, Response: resp}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/validate", func(w http.ResponseWriter, r *http.Request) {
		review(w, r, func(obj metav1.PartialObjectMetadata) *admissionv1.AdmissionResponse {
			if obj.Labels["deny"] == "true" {
				return &admissionv1.AdmissionResponse{Result: &metav1.Status{Message: "no objects labelled deny", Code: http.StatusForbidden}}
			}
			return &admissionv1.AdmissionResponse{Allowed: true}
		})
	})
	mux.HandleFunc("/mutate", func(w http.ResponseWriter, r *http.Request) {
		review(w, r, func(obj metav1.PartialObjectMetadata) *admissionv1.AdmissionResponse {
			patch := `[{"op":"add","path":"/metadata/labels/mutated","value":"yes"}]`
			return &admissionv1.AdmissionResponse{Allowed: true, Patch: []byte(patch), PatchType: ptr.To(admissionv1.PatchTypeJSONPatch)}
		})
	})
	// /connect denies CONNECT requests, naming the kind of options it was sent (upstream's
	// "should be able to deny attaching pod" webhook says "attaching to pod 'x' is not allowed").
	mux.HandleFunc("/connect", func(w http.ResponseWriter, r *http.Request) {
		var in admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		var opts struct{ Kind string }
		_ = json.Unmarshal(in.Request.Object.Raw, &opts)
		msg := fmt.Sprintf("%s %s/%s of pod '%s' is not allowed (object %s)", in.Request.Operation, in.Request.Kind.Kind, in.Request.SubResource, in.Request.Name, opts.Kind)
		out := admissionv1.AdmissionReview{TypeMeta: in.TypeMeta, Response: &admissionv1.AdmissionResponse{UID: in.Request.UID,
			Result: &metav1.Status{Message: msg, Code: http.StatusForbidden}}}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-ended:
		}
	})
	// /convert is a CRD conversion webhook: it only changes the objects' apiVersion and marks them.
	mux.HandleFunc("/convert", func(w http.ResponseWriter, r *http.Request) {
		var review apiextensionsv1.ConversionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		resp := &apiextensionsv1.ConversionResponse{UID: review.Request.UID, Result: metav1.Status{Status: metav1.StatusSuccess}}
		for _, raw := range review.Request.Objects {
			var obj map[string]any
			_ = json.Unmarshal(raw.Raw, &obj)
			obj["apiVersion"] = review.Request.DesiredAPIVersion
			obj["convertedBy"] = "webhook"
			out, _ := json.Marshal(obj)
			resp.ConvertedObjects = append(resp.ConvertedObjects, runtime.RawExtension{Raw: out})
		}
		review.Response, review.Request = resp, nil
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(review)
	})
	return mux, sync.OnceFunc(func() { close(ended) })
}

// configMapsRule matches creates of configmaps carrying the label key.
func configMapsRule(key string) ([]admissionregistrationv1.RuleWithOperations, *metav1.LabelSelector) {
	return []admissionregistrationv1.RuleWithOperations{{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
		}}, &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: key, Operator: metav1.LabelSelectorOpExists}}}
}

func validatingHook(name, url string, ca []byte, key string, policy admissionregistrationv1.FailurePolicyType) admissionregistrationv1.ValidatingWebhook {
	rules, sel := configMapsRule(key)
	return admissionregistrationv1.ValidatingWebhook{Name: name, Rules: rules, ObjectSelector: sel,
		ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca}, FailurePolicy: &policy,
		SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"},
		TimeoutSeconds: ptr.To[int32](2)}
}

func TestAdmissionWebhooks(t *testing.T) {
	s := apiservertest.Start(t)
	c, ctx := s.Client, context.Background()
	srv, ca := webhookServer(t)
	unreachable := "https://127.0.0.1:1/validate"

	mutateRules, mutateSel := configMapsRule("mutate")
	_, err := c.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "label-adder"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "mutate.skiff.test", Rules: mutateRules, ObjectSelector: mutateSel,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To(srv.URL + "/mutate"), CABundle: ca},
			SideEffects:  ptr.To(admissionregistrationv1.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vwc, err := c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "checks"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{
			validatingHook("deny.skiff.test", srv.URL+"/validate", ca, "deny", admissionregistrationv1.Fail),
			validatingHook("ignore.skiff.test", unreachable, ca, "ignore", admissionregistrationv1.Ignore),
			validatingHook("fail.skiff.test", unreachable, ca, "fail", admissionregistrationv1.Fail),
			validatingHook("slow-ignore.skiff.test", srv.URL+"/hang", ca, "slow-ignore", admissionregistrationv1.Ignore),
			validatingHook("slow-fail.skiff.test", srv.URL+"/hang", ca, "slow-fail", admissionregistrationv1.Fail),
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Upstream's defaults.
	if h := vwc.Webhooks[0]; *h.MatchPolicy != admissionregistrationv1.Equivalent || h.NamespaceSelector == nil ||
		*h.Rules[0].Scope != admissionregistrationv1.AllScopes || vwc.Generation != 1 {
		t.Errorf("defaults: %+v", h)
	}

	cm := func(name string, labels map[string]string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	configMaps := c.CoreV1().ConfigMaps("default")
	// The plugins see the configurations through informers: wait with dry-run creates.
	poll.Eventually(t, "the validating webhook denies", func() error {
		_, err := configMaps.Create(ctx, cm("probe", map[string]string{"deny": "true"}), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil {
			return errNotYet
		}
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `admission webhook "deny.skiff.test" denied the request: no objects labelled deny`) {
			t.Fatalf("denied with %v", err)
		}
		return nil
	})
	if _, err := configMaps.Create(ctx, cm("allowed", map[string]string{"deny": "false"}), metav1.CreateOptions{}); err != nil {
		t.Errorf("an allowed configmap: %v", err)
	}
	poll.Eventually(t, "the mutating webhook labels", func() error {
		got, err := configMaps.Create(ctx, cm("mutated", map[string]string{"mutate": ""}), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			t.Fatal(err)
		}
		if got.Labels["mutated"] != "yes" {
			return errNotYet
		}
		return nil
	})

	start := time.Now()
	if _, err := configMaps.Create(ctx, cm("ignored", map[string]string{"ignore": ""}), metav1.CreateOptions{}); err != nil {
		t.Errorf("failurePolicy Ignore with an unreachable webhook: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("failurePolicy Ignore took %v", d)
	}
	_, err = configMaps.Create(ctx, cm("failed", map[string]string{"fail": ""}), metav1.CreateOptions{})
	if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), `failed calling webhook "fail.skiff.test": failed to call webhook: Post "https://127.0.0.1:1/validate?timeout=2s"`) {
		t.Errorf("failurePolicy Fail with an unreachable webhook: %v", err)
	}

	// A webhook that does not answer follows its failurePolicy once its timeout (2 s) passes,
	// and requests it does not match go on meanwhile.
	hung := make(chan error, 2)
	for _, key := range []string{"slow-ignore", "slow-fail"} {
		go func() {
			start := time.Now()
			_, err := configMaps.Create(ctx, cm(key, map[string]string{key: ""}), metav1.CreateOptions{})
			if d := time.Since(start); d > 6*time.Second {
				err = fmt.Errorf("%s took %v, past its webhook's 2 s timeout: %v", key, d, err)
			}
			hung <- err
		}()
	}
	start = time.Now()
	if _, err := configMaps.Create(ctx, cm("unrelated", nil), metav1.CreateOptions{}); err != nil {
		t.Errorf("an unrelated configmap beside hung webhooks: %v", err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("an unrelated configmap waited %v for hung webhooks", d)
	}
	for range 2 {
		err := <-hung
		switch {
		case err == nil:
			// failurePolicy Ignore: admitted.
		case strings.Contains(err.Error(), `failed calling webhook "slow-fail.skiff.test"`) && apierrors.IsInternalError(err):
			// failurePolicy Fail: refused.
		default:
			t.Errorf("a hung webhook: %v", err)
		}
	}
	if _, err := configMaps.Get(ctx, "slow-ignore", metav1.GetOptions{}); err != nil {
		t.Errorf("failurePolicy Ignore with a hung webhook: %v", err)
	}
	if _, err := configMaps.Get(ctx, "slow-fail", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("failurePolicy Fail with a hung webhook stored the object: %v", err)
	}

	// A match condition that does not compile is refused with its field path.
	bad := validatingHook("cel.skiff.test", srv.URL+"/validate", ca, "cel", admissionregistrationv1.Fail)
	bad.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "broken", Expression: "object.metadata.name =="}}
	_, err = c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "bad-cel"}, Webhooks: []admissionregistrationv1.ValidatingWebhook{bad}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "webhooks[0].matchConditions[0].expression: Invalid value") {
		t.Errorf("a match condition with a syntax error: %v", err)
	}

	// A failing webhook on every resource still leaves the review kinds alone, as upstream.
	everything := validatingHook("everything.skiff.test", unreachable, ca, "", admissionregistrationv1.Fail)
	everything.ObjectSelector = nil
	everything.Rules = []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{"*"},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{"*"}, APIVersions: []string{"*"}, Resources: []string{"*"}}}}
	if _, err := c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "everything"}, Webhooks: []admissionregistrationv1.ValidatingWebhook{everything}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "the webhook on everything fails requests", func() error {
		if _, err := configMaps.Create(ctx, cm("any", nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err == nil {
			return errNotYet
		}
		return nil
	})
	if _, err := c.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{}); err != nil {
		t.Errorf("a SelfSubjectReview under a failing webhook on every resource: %v", err)
	}
}

var errNotYet = &notYet{}

type notYet struct{}

func (*notYet) Error() string { return "not yet" }

func TestValidatingAdmissionPolicy(t *testing.T) {
	s := apiservertest.Start(t)
	c, ctx := s.Client, context.Background()
	policies := c.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "max-replicas"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}},
				}}}},
			Validations: []admissionregistrationv1.Validation{{Expression: "object.spec.replicas <= 5"}},
		},
	}
	// A CEL syntax error is refused with the expression's field path.
	broken := policy.DeepCopy()
	broken.Name = "broken"
	broken.Spec.Validations[0].Expression = "object.spec.replicas <="
	_, err := policies.Create(ctx, broken, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.validations[0].expression: Invalid value: \"object.spec.replicas <=\": compilation failed") {
		t.Errorf("a policy with a syntax error: %v", err)
	}

	created, err := policies.Create(ctx, policy, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *created.Spec.FailurePolicy != admissionregistrationv1.Fail || *created.Spec.MatchConstraints.MatchPolicy != admissionregistrationv1.Equivalent {
		t.Errorf("defaults: %+v", created.Spec)
	}
	if _, err := c.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "max-replicas-binding"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "max-replicas",
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	deployment := func(name string, replicas int32) *appsv1.Deployment {
		labels := map[string]string{"app": name}
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{
			Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}}}
	}
	deployments := c.AppsV1().Deployments("default")
	want := `ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-binding' denied request: failed expression: object.spec.replicas <= 5`
	poll.Eventually(t, "the policy denies 6 replicas", func() error {
		_, err := deployments.Create(ctx, deployment("big", 6), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil {
			return errNotYet
		}
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), want) {
			t.Fatalf("denied with %v", err)
		}
		return nil
	})
	if _, err := deployments.Create(ctx, deployment("small", 5), metav1.CreateOptions{}); err != nil {
		t.Errorf("5 replicas: %v", err)
	}
	t.Run("MutatingAdmissionPolicy", func(t *testing.T) { mutatingAdmissionPolicy(t, s) })
}

// TestWebhookThroughService reaches a webhook by its Service reference: the server resolves it to
// the ready endpoint of the Service's EndpointSlice (no service proxy runs here) and checks the
// certificate against <service>.<namespace>.svc.
func TestWebhookThroughService(t *testing.T) {
	s := apiservertest.Start(t)
	c, ctx := s.Client, context.Background()
	h, release := webhookHandler()
	ca := s.ServeThroughService(t, "default", "hook", h, nil).CA
	t.Cleanup(release) // before the server closes
	hook := validatingHook("svc.skiff.test", "", ca.CertPEM, "deny", admissionregistrationv1.Fail)
	hook.ClientConfig = admissionregistrationv1.WebhookClientConfig{CABundle: ca.CertPEM,
		Service: &admissionregistrationv1.ServiceReference{Namespace: "default", Name: "hook", Path: ptr.To("/validate")}}
	if _, err := c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "through-service"}, Webhooks: []admissionregistrationv1.ValidatingWebhook{hook}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "the webhook behind the Service denies", func() error {
		_, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "probe",
			Labels: map[string]string{"deny": "true"}}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil || !strings.Contains(err.Error(), `admission webhook "svc.skiff.test" denied the request: no objects labelled deny`) {
			return fmt.Errorf("create: %v", err)
		}
		return nil
	})

	// A CRD conversion webhook reaches the same Service (apiextensions-apiserver shares the
	// resolver).
	crds := apiextensionsclient.NewForConfigOrDie(s.Config).ApiextensionsV1().CustomResourceDefinitions()
	widgetSchema := &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
		Type: "object", XPreserveUnknownFields: ptr.To(true)}}
	if _, err := crds.Create(ctx, &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "widgets.skiff.test"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: "skiff.test", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v1", Served: true, Storage: true, Schema: widgetSchema}, {Name: "v2", Served: true, Schema: widgetSchema}},
			Conversion: &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.WebhookConverter,
				Webhook: &apiextensionsv1.WebhookConversion{ConversionReviewVersions: []string{"v1"},
					ClientConfig: &apiextensionsv1.WebhookClientConfig{CABundle: ca.CertPEM,
						Service: &apiextensionsv1.ServiceReference{Namespace: "default", Name: "hook", Path: ptr.To("/convert")}}}},
		}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	widgets := dynamic.NewForConfigOrDie(s.Config)
	v1 := schemaGVR("v1")
	poll.Eventually(t, "the CRD is served", func() error {
		_, err := widgets.Resource(v1).Namespace("default").Create(ctx, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "skiff.test/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}}}, metav1.CreateOptions{})
		return err
	})
	got, err := widgets.Resource(schemaGVR("v2")).Namespace("default").Get(ctx, "w", metav1.GetOptions{})
	if err != nil || got.GetAPIVersion() != "skiff.test/v2" || got.Object["convertedBy"] != "webhook" {
		t.Errorf("the v2 widget through the conversion webhook: %v, %v", got, err)
	}
}

func schemaGVR(version string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "skiff.test", Version: version, Resource: "widgets"}
}

func mutatingAdmissionPolicy(t *testing.T, s *apiservertest.Server) {
	c, ctx := s.Client, context.Background()
	ar := c.AdmissionregistrationV1()
	if _, err := ar.MutatingAdmissionPolicies().Create(ctx, &admissionregistrationv1.MutatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "label"},
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
				}}}},
			Mutations: []admissionregistrationv1.Mutation{{PatchType: admissionregistrationv1.PatchTypeApplyConfiguration,
				ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{
					Expression: `Object{metadata: Object.metadata{labels: {"labelled-by": "policy"}}}`}}},
			ReinvocationPolicy: admissionregistrationv1.NeverReinvocationPolicy,
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ar.MutatingAdmissionPolicyBindings().Create(ctx, &admissionregistrationv1.MutatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "label"}, Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{PolicyName: "label"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "the policy labels configmaps", func() error {
		got, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "probe"}},
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil || got.Labels["labelled-by"] != "policy" {
			return fmt.Errorf("got %v, %v", got.Labels, err)
		}
		return nil
	})
}

// TestConnectWebhook: a webhook on CONNECT of pods/attach, pods/exec and pods/portforward is
// sent the request's options with their own kinds (PodAttachOptions, ...; converting them to a
// Pod failed the request before), and denies them before the API server reaches the node.
func TestConnectWebhook(t *testing.T) {
	s := apiservertest.Start(t)
	c, ctx := s.Client, context.Background()
	srv, ca := webhookServer(t)
	hook := validatingHook("connect.skiff.test", srv.URL+"/connect", ca, "", admissionregistrationv1.Fail)
	hook.ObjectSelector = nil
	hook.Rules = []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Connect},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods/attach", "pods/exec", "pods/portforward"}}}}
	if _, err := c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "connect"}, Webhooks: []admissionregistrationv1.ValidatingWebhook{hook}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "target"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ sub, kind, params string }{
		{"attach", "PodAttachOptions", "stdin=true&container=c"},
		{"exec", "PodExecOptions", "command=true&stdout=true&container=c"},
		{"portforward", "PodPortForwardOptions", "ports=80"},
	} {
		t.Run(tc.sub, func(t *testing.T) {
			want := fmt.Sprintf(`admission webhook "connect.skiff.test" denied the request: CONNECT %s/%s of pod 'target' is not allowed (object %s)`, tc.kind, tc.sub, tc.kind)
			poll.Eventually(t, "the webhook denies "+tc.sub, func() error {
				req := c.CoreV1().RESTClient().Post().Namespace("default").Resource("pods").Name("target").SubResource(tc.sub)
				q, _ := url.ParseQuery(tc.params)
				for k, vs := range q {
					req = req.Param(k, vs[0])
				}
				err := req.Do(ctx).Error()
				if err == nil || !strings.Contains(err.Error(), want) {
					return fmt.Errorf("%s: %v", tc.sub, err)
				}
				if !apierrors.IsForbidden(err) {
					t.Errorf("%s denied with %v, want Forbidden", tc.sub, err)
				}
				return nil
			})
		})
	}
}
