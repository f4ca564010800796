package apiserver_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/apiserver/pki"
	"github.com/skiff-dev/skiff/test/poll"
)

// clientAs returns a client with a certificate for user, allowed verbs on configmaps. Users outside
// system:masters are the ones the in-flight limits apply to (masters are exempt, as upstream).
func clientAs(t *testing.T, s *apiservertest.Server, user string, verbs ...string) *kubernetes.Clientset {
	t.Helper()
	ca, err := pki.LoadOrCreateCA(filepath.Join(s.DataDir, "pki"), "ca", "skiff-ca")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.CertSpec{CommonName: user, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(s.Config)
	cfg.CertData, cfg.KeyData, cfg.CertFile, cfg.KeyFile = certPEM, keyPEM, "", ""
	cfg.QPS, cfg.Burst = -1, 0
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "load-" + user}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: verbs}}}
	if _, err := s.Client.RbacV1().ClusterRoles().Create(context.Background(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "load-" + user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if _, err := s.Client.RbacV1().ClusterRoleBindings().Create(context.Background(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

// writeLatencies creates n configmaps one after another and returns their latencies, sorted.
func writeLatencies(t *testing.T, c kubernetes.Interface, ns, prefix string, n int) []time.Duration {
	t.Helper()
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", prefix, i)}, Data: map[string]string{"k": "v"}}
		start := time.Now()
		if _, err := c.CoreV1().ConfigMaps(ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		out = append(out, time.Since(start))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// TestListFloodDoesNotStarveWrites is the load test of the in-flight limits and of priority and fairness: one client floods
// the server with lists of 300 configmaps (600 KB each) from 64 goroutines while another
// writes; the writer's p99 must stay under 1 s. Reads and writes have separate budgets
// (--max-requests-inflight, --max-mutating-requests-inflight), so the flood is turned away with
// 429 once it holds the whole read budget, and never takes the writes' share. The read budget
// is what bounds the CPU the flood can take; SKIFF_LOADTEST_DEFAULTS=1 adds a measurement with
// upstream's 400/200.
func TestListFloodDoesNotStarveWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	type floodCase struct {
		name                string
		readLimit, writeMax int
		floodWorkers        int
		// priorityAndFairness runs API priority and fairness with the flooder's own FlowSchema
		// and a priority level of one seat (apfFloodLevel); otherwise the two in-flight budgets.
		priorityAndFairness bool
		// assert checks the writer's p99; the upstream-defaults case is a measurement only.
		assert bool
	}
	cases := []floodCase{
		// A read budget the flood exceeds: the excess is answered 429 at once (the flooder
		// ignores Retry-After and comes straight back) and the writes keep their own budget.
		{name: "read-limit-4", readLimit: 4, writeMax: 200, floodWorkers: 64, assert: true},
		// Upstream's defaults with priority and fairness: a cluster admin confines the flooder to
		// a priority level of its own; its one queue fills and the excess is answered 429, while
		// the writer's requests (global-default) never wait behind it.
		{name: "priority-and-fairness", readLimit: 400, writeMax: 200, floodWorkers: 64, priorityAndFairness: true, assert: true},
	}
	if os.Getenv("SKIFF_LOADTEST_DEFAULTS") != "" {
		// Upstream's 400/200 without a FlowSchema for the flooder: a 64-goroutine flood fits in
		// the budget, so only the CPU limits it; on a small shared machine the writer's p99 then
		// exceeds 1 s.
		cases = append(cases, floodCase{name: "defaults-400-200", readLimit: 400, writeMax: 200, floodWorkers: 64})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := apiservertest.StartWith(t, func(o *apiserver.Options) {
				o.Hardening.MaxRequestsInFlight, o.Hardening.MaxMutatingRequestsInFlight = tc.readLimit, tc.writeMax
				o.Hardening.EnablePriorityAndFairness = tc.priorityAndFairness
			})
			ctx := context.Background()
			for _, ns := range []string{"flood", "writes"} {
				if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			payload := strings.Repeat("z", 2048)
			for i := 0; i < 300; i++ {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("data-%d", i)}, Data: map[string]string{"k": payload}}
				if _, err := s.Client.CoreV1().ConfigMaps("flood").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			flooder := clientAs(t, s, "flooder", "list")
			writer := clientAs(t, s, "writer", "list", "create")
			// Wait until the bindings apply.
			poll.Until(t, 20*time.Second, "clients authorized", func() error {
				_, errR := flooder.CoreV1().ConfigMaps("flood").List(ctx, metav1.ListOptions{Limit: 1})
				_, errW := writer.CoreV1().ConfigMaps("writes").List(ctx, metav1.ListOptions{Limit: 1})
				if errR != nil || errW != nil {
					return fmt.Errorf("clients not authorized: %v / %v", errR, errW)
				}
				return nil
			})

			if tc.priorityAndFairness {
				apfFloodLevel(t, s, flooder)
			}
			const samples = 200
			baseline := writeLatencies(t, writer, "writes", "base", samples)

			floodCtx, stopFlood := context.WithCancel(ctx)
			var lists, throttled, failed atomic.Int64
			var wg sync.WaitGroup
			for w := 0; w < tc.floodWorkers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for floodCtx.Err() == nil {
						// Raw requests: no client-side retry, so every 429 is counted and the
						// worker comes straight back.
						_, err := flooder.CoreV1().RESTClient().Get().Namespace("flood").Resource("configmaps").MaxRetries(0).DoRaw(floodCtx)
						switch {
						case err == nil:
							lists.Add(1)
						case apierrors.IsTooManyRequests(err):
							throttled.Add(1)
						case floodCtx.Err() != nil:
						default:
							failed.Add(1)
						}
					}
				}()
			}
			time.Sleep(500 * time.Millisecond) // let the flood build up
			loaded := writeLatencies(t, writer, "writes", "load", samples)
			stopFlood()
			wg.Wait()

			t.Logf("%s: writer p50/p90/p99/max without flood %v/%v/%v/%v; with a %d-goroutine list flood %v/%v/%v/%v; flood: %d lists served, %d answered 429, %d other errors",
				tc.name, percentile(baseline, .5), percentile(baseline, .9), percentile(baseline, .99), baseline[len(baseline)-1],
				tc.floodWorkers, percentile(loaded, .5), percentile(loaded, .9), percentile(loaded, .99), loaded[len(loaded)-1],
				lists.Load(), throttled.Load(), failed.Load())
			if p99 := percentile(loaded, .99); tc.assert && p99 >= time.Second {
				t.Errorf("writer p99 %v under a list flood, want < 1s", p99)
			}
			if lists.Load() == 0 {
				t.Error("the flood got no list through")
			}
			if (tc.priorityAndFairness || tc.readLimit < tc.floodWorkers) && throttled.Load() == 0 {
				t.Errorf("a %d-goroutine flood over a read limit of %d was never answered 429", tc.floodWorkers, tc.readLimit)
			}
		})
	}
}

// apfFloodLevel puts the user "flooder" in a priority level of its own, one seat and one queue
// of 4, and waits until the server classifies its requests there (the response headers name the
// FlowSchema, as upstream's).
func apfFloodLevel(t *testing.T, s *apiservertest.Server, flooder *kubernetes.Clientset) {
	t.Helper()
	ctx := context.Background()
	level := &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "flood"},
		Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: ptr.To[int32](1), LendablePercent: ptr.To[int32](0),
				LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeQueue,
					Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 1, HandSize: 1, QueueLengthLimit: 4}}}}}
	if _, err := s.Client.FlowcontrolV1().PriorityLevelConfigurations().Create(ctx, level, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	schema := &flowcontrolv1.FlowSchema{ObjectMeta: metav1.ObjectMeta{Name: "flood"},
		Spec: flowcontrolv1.FlowSchemaSpec{PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "flood"},
			MatchingPrecedence: 500, DistinguisherMethod: &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects: []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindUser, User: &flowcontrolv1.UserSubject{Name: "flooder"}}},
				ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"},
					Namespaces: []string{"*"}, ClusterScope: true}}}}}}
	created, err := s.Client.FlowcontrolV1().FlowSchemas().Create(ctx, schema, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc := flooder.CoreV1().RESTClient().(*rest.RESTClient)
	url := rc.Get().Namespace("flood").Resource("configmaps").Param("limit", "1").URL().String()
	poll.Until(t, 30*time.Second, "the flooder classified by its FlowSchema", func() error {
		resp, err := rc.Client.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Kubernetes-PF-FlowSchema-UID"); got != string(created.UID) {
			return fmt.Errorf("FlowSchema UID header %q, want %q", got, created.UID)
		}
		return nil
	})
}
