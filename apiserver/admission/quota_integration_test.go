package admission_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/test/poll"
)

func pod(name string, res corev1.ResourceRequirements) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox", Resources: res}}},
	}
}

func rl(pairs ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(pairs); i += 2 {
		out[corev1.ResourceName(pairs[i])] = resource.MustParse(pairs[i+1])
	}
	return out
}

func newNamespace(t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	if _, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// createQuota creates a quota and fills status.hard as the quota controller would (no
// controller runs in these tests), so admission enforces it at once.
func createQuota(t *testing.T, c kubernetes.Interface, ns string, hard corev1.ResourceList) {
	t.Helper()
	ctx := context.Background()
	q, err := c.CoreV1().ResourceQuotas(ns).Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "quota"}, Spec: corev1.ResourceQuotaSpec{Hard: hard}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	used := corev1.ResourceList{}
	for k := range hard {
		used[k] = resource.MustParse("0")
	}
	q.Status = corev1.ResourceQuotaStatus{Hard: hard, Used: used}
	if _, err := c.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, q, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestResourceQuotaAdmission(t *testing.T) {
	s := apiservertest.Start(t)
	c, ctx := s.Client, context.Background()
	newNamespace(t, c, "q")
	createQuota(t, c, "q", rl("pods", "2", "requests.cpu", "1", "requests.memory", "1Gi", "limits.cpu", "2", "limits.memory", "2Gi", "configmaps", "1"))

	small := corev1.ResourceRequirements{Requests: rl("cpu", "400m", "memory", "256Mi"), Limits: rl("cpu", "800m", "memory", "512Mi")}
	// The first create may race the quota informer; wait until the quota is being charged.
	poll.Until(t, 20*time.Second, "quota charged", func() error {
		if _, err := c.CoreV1().Pods("q").Create(ctx, pod("a", small), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		q, err := c.CoreV1().ResourceQuotas("q").Get(ctx, "quota", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := q.Status.Used["pods"]; got.String() != "1" {
			return fmt.Errorf("used pods %s, want 1", got.String())
		}
		return nil
	})

	// Over quota: upstream's message and 403.
	big := corev1.ResourceRequirements{Requests: rl("cpu", "700m", "memory", "256Mi"), Limits: rl("cpu", "800m", "memory", "512Mi")}
	_, err := c.CoreV1().Pods("q").Create(ctx, pod("b", big), metav1.CreateOptions{})
	want := `pods "b" is forbidden: exceeded quota: quota, requested: requests.cpu=700m, used: requests.cpu=400m, limited: requests.cpu=1`
	if !apierrors.IsForbidden(err) || err.Error() != want {
		t.Fatalf("over quota: got %v, want 403 %q", err, want)
	}

	// Quota on cpu and memory requires each container to state them.
	_, err = c.CoreV1().Pods("q").Create(ctx, pod("c", corev1.ResourceRequirements{}), metav1.CreateOptions{})
	want = `pods "c" is forbidden: failed quota: quota: must specify limits.cpu for: app; limits.memory for: app; requests.cpu for: app; requests.memory for: app`
	if !apierrors.IsForbidden(err) || err.Error() != want {
		t.Fatalf("missing requests: got %v, want 403 %q", err, want)
	}

	// Object counts.
	if _, err := c.CoreV1().ConfigMaps("q").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "one"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CoreV1().ConfigMaps("q").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "two"}}, metav1.CreateOptions{})
	want = `configmaps "two" is forbidden: exceeded quota: quota, requested: configmaps=1, used: configmaps=1, limited: configmaps=1`
	if !apierrors.IsForbidden(err) || err.Error() != want {
		t.Fatalf("configmap over quota: got %v, want %q", err, want)
	}
}

// TestResourceQuotaConcurrentCreates: many clients create pods at once against a quota of 5
// pods; the charge is a conditional update of the quota, so exactly 5 get in.
func TestResourceQuotaConcurrentCreates(t *testing.T) {
	s := apiservertest.Start(t)
	c, ctx := s.Client, context.Background()
	newNamespace(t, c, "race")
	createQuota(t, c, "race", rl("pods", "5"))
	// Wait for the informer to see the quota: a probe configmap is not charged, so probe with a
	// pod and delete it (deletion does not release usage; reset used afterwards).
	poll.Until(t, 20*time.Second, "quota enforced", func() error {
		q, err := c.CoreV1().ResourceQuotas("race").Get(ctx, "quota", metav1.GetOptions{})
		if err != nil {
			return err
		}
		_, err = c.CoreV1().Pods("race").Create(ctx, pod("probe", corev1.ResourceRequirements{}), metav1.CreateOptions{})
		if err != nil {
			return err
		}
		after, err := c.CoreV1().ResourceQuotas("race").Get(ctx, "quota", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if after.ResourceVersion == q.ResourceVersion {
			_ = c.CoreV1().Pods("race").Delete(ctx, "probe", metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
			return fmt.Errorf("quota not charged yet")
		}
		return nil
	})
	// The probe holds one of the 5.
	const clients = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, refused := 0, 0
	var other []error
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := c.CoreV1().Pods("race").Create(ctx, pod(fmt.Sprintf("p%d", i), corev1.ResourceRequirements{}), metav1.CreateOptions{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota: quota, requested: pods=1, used: pods=5, limited: pods=5"):
				refused++
			default:
				other = append(other, err)
			}
		}(i)
	}
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("unexpected errors: %v", other)
	}
	pods, err := c.CoreV1().Pods("race").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d concurrent creates: %d created, %d refused; %d pods stored", clients, created, refused, len(pods.Items))
	if created != 4 || len(pods.Items) != 5 {
		t.Fatalf("created %d (+1 probe) pods, stored %d; want 4 (+1) and 5", created, len(pods.Items))
	}
}

func TestLimitRanger(t *testing.T) {
	s := apiservertest.Start(t)
	c, ctx := s.Client, context.Background()
	newNamespace(t, c, "lr")
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type: corev1.LimitTypeContainer,
		Max:  rl("cpu", "1", "memory", "1Gi"), Min: rl("cpu", "100m"),
		Default: rl("cpu", "500m", "memory", "256Mi"), DefaultRequest: rl("cpu", "200m"),
	}, {
		Type: corev1.LimitTypePod, Max: rl("memory", "1536Mi"),
	}}}}
	created, err := c.CoreV1().LimitRanges("lr").Create(ctx, lr, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Defaulting: the memory default request comes from the default limit.
	if got := created.Spec.Limits[0].DefaultRequest.Memory().String(); got != "256Mi" {
		t.Errorf("defaultRequest.memory = %s, want 256Mi", got)
	}

	var p *corev1.Pod
	poll.Until(t, 20*time.Second, "defaults applied", func() error {
		_ = c.CoreV1().Pods("lr").Delete(ctx, "plain", metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		var err error
		if p, err = c.CoreV1().Pods("lr").Create(ctx, pod("plain", corev1.ResourceRequirements{}), metav1.CreateOptions{}); err != nil {
			return err
		}
		if p.Annotations["kubernetes.io/limit-ranger"] == "" {
			return fmt.Errorf("no defaults yet")
		}
		return nil
	})
	res := p.Spec.Containers[0].Resources
	if res.Limits.Cpu().String() != "500m" || res.Limits.Memory().String() != "256Mi" || res.Requests.Cpu().String() != "200m" || res.Requests.Memory().String() != "256Mi" {
		t.Errorf("defaulted resources = %v", res)
	}
	if got, want := p.Annotations["kubernetes.io/limit-ranger"], "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app"; got != want {
		t.Errorf("annotation = %q, want %q", got, want)
	}

	cases := []struct {
		name string
		res  corev1.ResourceRequirements
		want string
	}{
		{"over-max", corev1.ResourceRequirements{Limits: rl("cpu", "2")},
			`pods "over-max" is forbidden: maximum cpu usage per Container is 1, but limit is 2`},
		{"under-min", corev1.ResourceRequirements{Requests: rl("cpu", "50m"), Limits: rl("cpu", "50m")},
			`pods "under-min" is forbidden: minimum cpu usage per Container is 100m, but request is 50m`},
	}
	for _, tc := range cases {
		_, err := c.CoreV1().Pods("lr").Create(ctx, pod(tc.name, tc.res), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || err.Error() != tc.want {
			t.Errorf("%s: got %v, want 403 %q", tc.name, err, tc.want)
		}
	}
	// Pod totals: two containers of 1Gi each exceed the pod max of 1536Mi.
	two := pod("two", corev1.ResourceRequirements{Limits: rl("memory", "1Gi")})
	two.Spec.Containers = append(two.Spec.Containers, corev1.Container{Name: "side", Image: "busybox", Resources: corev1.ResourceRequirements{Limits: rl("memory", "1Gi")}})
	_, err = c.CoreV1().Pods("lr").Create(ctx, two, metav1.CreateOptions{})
	if want := `pods "two" is forbidden: maximum memory usage per Pod is 1536Mi, but limit is 2Gi`; !apierrors.IsForbidden(err) || err.Error() != want {
		t.Errorf("pod max: got %v, want 403 %q", err, want)
	}

	// Invalid LimitRanges get 422 with upstream's field paths.
	bad := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "bad"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type: corev1.LimitTypeContainer, Min: rl("cpu", "2"), Max: rl("cpu", "1"),
	}}}}
	_, err = c.CoreV1().LimitRanges("lr").Create(ctx, bad, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.limits[0].min[cpu]: Invalid value: \"2\": min value 2 is greater than max value 1") {
		t.Errorf("invalid limit range: got %v", err)
	}
}
