package volumes

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
)

func TestTokenRefreshRule(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	m := &TokenManager{Now: func() time.Time { return now }}
	tr := func(issuedAgo, ttl time.Duration) *authenticationv1.TokenRequest {
		secs := int64(ttl / time.Second)
		return &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs},
			Status: authenticationv1.TokenRequestStatus{ExpirationTimestamp: metav1.NewTime(now.Add(-issuedAgo + ttl))}}
	}
	for _, c := range []struct {
		name      string
		issuedAgo time.Duration
		ttl       time.Duration
		want      bool
	}{
		{"fresh", time.Minute, time.Hour, false},
		{"70% of the lifetime", 42 * time.Minute, time.Hour, false},
		{"past 80% and the jitter", 48*time.Minute + 11*time.Second, time.Hour, true},
		{"expired", 2 * time.Hour, time.Hour, true},
		{"long token under a day old", 20 * time.Hour, 30 * 24 * time.Hour, false},
		{"long token over a day old", 24*time.Hour + 11*time.Second, 30 * 24 * time.Hour, true},
	} {
		if got := m.requiresRefresh(tr(c.issuedAgo, c.ttl)); got != c.want {
			t.Errorf("%s: refresh %v, want %v", c.name, got, c.want)
		}
	}
}

// TestProjectedServiceAccountToken sets up a projected token volume against the real API
// server: the token is bound to the pod and authenticates as its ServiceAccount, is kept while
// fresh and replaced once 80% of its lifetime has passed.
func TestProjectedServiceAccountToken(t *testing.T) {
	s := apiservertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := s.Client
	if _, err := c.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reader"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod, err := c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "client"},
		Spec: corev1.PodSpec{ServiceAccountName: "reader", Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
			Volumes: []corev1.Volume{{Name: "api", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				DefaultMode: ptr.To[int32](0o640),
				Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](600)}},
					{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
				}}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	m := &Manager{Root: t.TempDir(), Client: c, Tokens: &TokenManager{Client: c, Now: clock}}
	readToken := func() string {
		t.Helper()
		if _, err := m.SetUp(ctx, pod); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(m.VolumeDir(string(pod.UID), ProjectedPlugin, "api"), "token")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("token mode %v %v", fi.Mode(), err)
		}
		return string(b)
	}
	first := readToken()
	cfg := rest.AnonymousClientConfig(s.Config)
	cfg.BearerToken = first
	tc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tc.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := r.Status.UserInfo; u.Username != "system:serviceaccount:default:reader" || u.Extra["authentication.kubernetes.io/pod-uid"][0] != string(pod.UID) {
		t.Errorf("user %+v", u)
	}
	advance(7 * time.Minute) // 70% of 600 s
	if readToken() != first {
		t.Error("token replaced before 80% of its lifetime")
	}
	advance(90 * time.Second) // 85%
	if readToken() == first {
		t.Error("token not replaced after 80% of its lifetime")
	}
	if err := m.CleanUp(string(pod.UID)); err != nil {
		t.Fatal(err)
	}
	if len(m.Tokens.cache) != 0 {
		t.Errorf("cache after clean-up: %d entries", len(m.Tokens.cache))
	}
}
