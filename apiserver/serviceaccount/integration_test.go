package serviceaccount_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/apiserver/serviceaccount"
	"github.com/skiff-dev/skiff/test/poll"
)

func tokenClient(t *testing.T, s *apiservertest.Server, token string) *kubernetes.Clientset {
	t.Helper()
	cfg := rest.AnonymousClientConfig(s.Config)
	cfg.BearerToken = token
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func whoami(ctx context.Context, c kubernetes.Interface) (authenticationv1.UserInfo, error) {
	r, err := c.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	return r.Status.UserInfo, nil
}

func mustCreate[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func testPod(name, sa string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
		ServiceAccountName: sa,
		InitContainers:     []corev1.Container{{Name: "init", Image: "busybox"}},
		Containers:         []corev1.Container{{Name: "c", Image: "busybox"}, {Name: "own", Image: "busybox", VolumeMounts: []corev1.VolumeMount{{Name: "mine", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"}}}},
		Volumes:            []corev1.Volume{{Name: "mine", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
	}}
}

// TestTokenRequestAndAdmission runs TokenRequest, the token authenticator and the
// ServiceAccount admission plugin against the real API server.
func TestTokenRequestAndAdmission(t *testing.T) {
	s := apiservertest.StartWith(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := s.Client
	mustCreate[*corev1.Namespace](t)(c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns1"}}, metav1.CreateOptions{}))
	sa := mustCreate[*corev1.ServiceAccount](t)(c.CoreV1().ServiceAccounts("ns1").Create(ctx, &corev1.ServiceAccount{
		ObjectMeta:       metav1.ObjectMeta{Name: "builder"},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
	}, metav1.CreateOptions{}))
	mustCreate[*corev1.ServiceAccount](t)(c.CoreV1().ServiceAccounts("ns1").Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "quiet"}, AutomountServiceAccountToken: ptr.To(false),
	}, metav1.CreateOptions{}))

	t.Run("plain token authenticates as the service account", func(t *testing.T) {
		before := time.Now()
		tr := mustCreate[*authenticationv1.TokenRequest](t)(c.CoreV1().ServiceAccounts("ns1").CreateToken(ctx, "builder", &authenticationv1.TokenRequest{}, metav1.CreateOptions{}))
		if got := tr.Spec.Audiences; len(got) != 1 || got[0] != serviceaccount.DefaultIssuer {
			t.Errorf("audiences %v", got)
		}
		if *tr.Spec.ExpirationSeconds != 3600 || tr.Status.ExpirationTimestamp.Time.Before(before.Add(time.Hour-time.Second)) {
			t.Errorf("expiration %d, %v", *tr.Spec.ExpirationSeconds, tr.Status.ExpirationTimestamp)
		}
		u, err := whoami(ctx, tokenClient(t, s, tr.Status.Token))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"system:serviceaccounts", "system:serviceaccounts:ns1", "system:authenticated"}
		if u.Username != "system:serviceaccount:ns1:builder" || u.UID != string(sa.UID) || strings.Join(u.Groups, ",") != strings.Join(want, ",") {
			t.Errorf("user %+v", u)
		}
	})

	t.Run("request errors", func(t *testing.T) {
		_, err := c.CoreV1().ServiceAccounts("ns1").CreateToken(ctx, "builder", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(60))}}, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes") {
			t.Errorf("short expiration: %v", err)
		}
		_, err = c.CoreV1().ServiceAccounts("ns1").CreateToken(ctx, "nobody", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if !apierrors.IsNotFound(err) || err.Error() != `serviceaccounts "nobody" not found` {
			t.Errorf("missing account: %v", err)
		}
		_, err = c.CoreV1().ServiceAccounts("ns1").CreateToken(ctx, "builder", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "ConfigMap", APIVersion: "v1", Name: "x"}}}, metav1.CreateOptions{})
		if !apierrors.IsBadRequest(err) || err.Error() != "cannot bind token to object of type /v1, Kind=ConfigMap" {
			t.Errorf("configmap binding: %v", err)
		}
	})

	t.Run("wrong audience is refused", func(t *testing.T) {
		tr := mustCreate[*authenticationv1.TokenRequest](t)(c.CoreV1().ServiceAccounts("ns1").CreateToken(ctx, "builder", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"vault"}}}, metav1.CreateOptions{}))
		if _, err := whoami(ctx, tokenClient(t, s, tr.Status.Token)); !apierrors.IsUnauthorized(err) {
			t.Errorf("vault token against the API: %v", err)
		}
	})

	t.Run("admission mounts the token volume", func(t *testing.T) {
		pod := mustCreate[*corev1.Pod](t)(c.CoreV1().Pods("ns1").Create(ctx, testPod("web", "builder"), metav1.CreateOptions{}))
		if pod.Spec.DeprecatedServiceAccount != "builder" || len(pod.Spec.ImagePullSecrets) != 1 || pod.Spec.ImagePullSecrets[0].Name != "regcred" {
			t.Errorf("spec: serviceAccount %q imagePullSecrets %v", pod.Spec.DeprecatedServiceAccount, pod.Spec.ImagePullSecrets)
		}
		var vol *corev1.Volume
		for i := range pod.Spec.Volumes {
			if strings.HasPrefix(pod.Spec.Volumes[i].Name, "kube-api-access-") {
				vol = &pod.Spec.Volumes[i]
			}
		}
		if vol == nil || len(vol.Name) != len("kube-api-access-")+5 {
			t.Fatalf("volumes %+v", pod.Spec.Volumes)
		}
		p := vol.Projected
		if p == nil || len(p.Sources) != 3 || *p.DefaultMode != 0o644 || *p.Sources[0].ServiceAccountToken.ExpirationSeconds != 3607 ||
			p.Sources[0].ServiceAccountToken.Path != "token" || p.Sources[1].ConfigMap.Name != "kube-root-ca.crt" ||
			p.Sources[2].DownwardAPI.Items[0].FieldRef.FieldPath != "metadata.namespace" {
			b, _ := json.Marshal(vol)
			t.Fatalf("volume %s", b)
		}
		mounted := func(c corev1.Container) bool {
			for _, m := range c.VolumeMounts {
				if m.Name == vol.Name && m.ReadOnly && m.MountPath == "/var/run/secrets/kubernetes.io/serviceaccount" {
					return true
				}
			}
			return false
		}
		if !mounted(pod.Spec.InitContainers[0]) || !mounted(pod.Spec.Containers[0]) || mounted(pod.Spec.Containers[1]) {
			t.Errorf("mounts: %+v %+v %+v", pod.Spec.InitContainers[0].VolumeMounts, pod.Spec.Containers[0].VolumeMounts, pod.Spec.Containers[1].VolumeMounts)
		}

		quiet := mustCreate[*corev1.Pod](t)(c.CoreV1().Pods("ns1").Create(ctx, testPod("quiet", "quiet"), metav1.CreateOptions{}))
		override := testPod("loud", "quiet")
		override.Spec.AutomountServiceAccountToken = ptr.To(true)
		loud := mustCreate[*corev1.Pod](t)(c.CoreV1().Pods("ns1").Create(ctx, override, metav1.CreateOptions{}))
		if len(quiet.Spec.Volumes) != 1 || len(loud.Spec.Volumes) != 2 {
			t.Errorf("automount: quiet %d volumes, loud %d", len(quiet.Spec.Volumes), len(loud.Spec.Volumes))
		}

		_, err := c.CoreV1().Pods("ns1").Create(ctx, testPod("ghost", "missing"), metav1.CreateOptions{})
		want := `pods "ghost" is forbidden: error looking up service account ns1/missing: serviceaccount "missing" not found`
		if !apierrors.IsForbidden(err) || err.Error() != want {
			t.Errorf("missing account: %v, want %s", err, want)
		}
		_, err = c.CoreV1().Pods("ns1").Create(ctx, testPod("nodefault", ""), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `error looking up service account ns1/default: serviceaccount "default" not found`) {
			t.Errorf("no default account: %v", err)
		}
	})

	t.Run("pod-bound token dies with its pod", func(t *testing.T) {
		pod := mustCreate[*corev1.Pod](t)(c.CoreV1().Pods("ns1").Create(ctx, testPod("bound", "builder"), metav1.CreateOptions{}))
		_, err := c.CoreV1().ServiceAccounts("ns1").CreateToken(ctx, "quiet", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "bound"}}}, metav1.CreateOptions{})
		if !apierrors.IsBadRequest(err) || err.Error() != `cannot bind token for serviceaccount "quiet" to pod running with different serviceaccount name.` {
			t.Errorf("other account: %v", err)
		}
		_, err = c.CoreV1().ServiceAccounts("ns1").CreateToken(ctx, "builder", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "bound", UID: "not-the-uid"}}}, metav1.CreateOptions{})
		if !apierrors.IsConflict(err) {
			t.Errorf("wrong uid: %v", err)
		}
		tr := mustCreate[*authenticationv1.TokenRequest](t)(c.CoreV1().ServiceAccounts("ns1").CreateToken(ctx, "builder", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: ptr.To(int64(3607)),
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "bound", UID: pod.UID}}}, metav1.CreateOptions{}))
		if d := time.Until(tr.Status.ExpirationTimestamp.Time); d > 3607*time.Second || d < 3500*time.Second {
			t.Errorf("reported expiry in %v, want the requested 3607 s (the token itself is extended)", d)
		}
		pc := tokenClient(t, s, tr.Status.Token)
		u, err := whoami(ctx, pc)
		if err != nil {
			t.Fatal(err)
		}
		if u.Extra[serviceaccount.PodNameKey][0] != "bound" || u.Extra[serviceaccount.PodUIDKey][0] != string(pod.UID) {
			t.Errorf("extra %v", u.Extra)
		}
		if err := c.CoreV1().Pods("ns1").Delete(ctx, "bound", metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "token of the deleted pod refused", func() error {
			if _, err := whoami(ctx, pc); !apierrors.IsUnauthorized(err) {
				return fmt.Errorf("token of a deleted pod still accepted: %v", err)
			}
			return nil
		})
	})

	t.Run("token review", func(t *testing.T) {
		review := func(token string, auds ...string) authenticationv1.TokenReviewStatus {
			t.Helper()
			r, err := c.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: auds}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return r.Status
		}
		api := mustCreate[*authenticationv1.TokenRequest](t)(c.CoreV1().ServiceAccounts("ns1").CreateToken(ctx, "builder", &authenticationv1.TokenRequest{}, metav1.CreateOptions{}))
		st := review(api.Status.Token)
		if !st.Authenticated || st.User.Username != "system:serviceaccount:ns1:builder" || st.Audiences[0] != serviceaccount.DefaultIssuer || st.Error != "" {
			t.Errorf("API token: %+v", st)
		}
		vault := mustCreate[*authenticationv1.TokenRequest](t)(c.CoreV1().ServiceAccounts("ns1").CreateToken(ctx, "builder", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"vault"}}}, metav1.CreateOptions{}))
		if st := review(vault.Status.Token, "vault"); !st.Authenticated || len(st.Audiences) != 1 || st.Audiences[0] != "vault" {
			t.Errorf("vault token for vault: %+v", st)
		}
		if st := review(vault.Status.Token); st.Authenticated || !strings.Contains(st.Error, "token audiences") {
			t.Errorf("vault token for the API: %+v", st)
		}
		if st := review("not-a-token"); st.Authenticated || st.Error == "" {
			t.Errorf("garbage: %+v", st)
		}
		_, err := c.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{}, metav1.CreateOptions{})
		if !apierrors.IsBadRequest(err) || err.Error() != "token is required for TokenReview in authentication" {
			t.Errorf("empty review: %v", err)
		}
	})

	t.Run("openid discovery", func(t *testing.T) {
		body, err := c.Discovery().RESTClient().Get().AbsPath("/.well-known/openid-configuration").DoRaw(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err != nil || doc["issuer"] != serviceaccount.DefaultIssuer || !strings.HasSuffix(doc["jwks_uri"].(string), "/openid/v1/jwks") {
			t.Errorf("config %s (%v)", body, err)
		}
		body, err = c.Discovery().RESTClient().Get().AbsPath("/openid/v1/jwks").DoRaw(ctx)
		if err != nil || !strings.Contains(string(body), `"alg":"RS256"`) {
			t.Errorf("jwks %s (%v)", body, err)
		}
	})
}
