package apiserver_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/test/poll"
)

const timeout = 30 * time.Second

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// newNamespace creates a namespace named after the (sub)test.
func newNamespace(t *testing.T, c kubernetes.Interface) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	name = strings.Trim(name, "-")
	if _, err := c.CoreV1().Namespaces().Create(ctxT(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

func labels(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func testPod(name string, lbls map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1.36"}}},
	}
}

func podTemplate(app string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels("app", app)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1.25"}}},
	}
}

func testDeployment(name string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels("app", name)},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: labels("app", name)},
			Template: podTemplate(name)},
	}
}

func testReplicaSet(name string, replicas int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: labels("app", name)},
			Template: podTemplate(name)},
	}
}

// typedClient is what every client-go typed resource client offers.
type typedClient[T runtime.Object, L runtime.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
}

// testCRUD creates obj, reads it, lists it, updates a label, deletes it and checks it is gone.
func testCRUD[T runtime.Object, L runtime.Object](t *testing.T, c typedClient[T, L], obj T) {
	t.Helper()
	ctx := ctxT(t)
	created, err := c.Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	m := mustMeta(t, created)
	if m.GetUID() == "" || m.GetResourceVersion() == "" || m.GetCreationTimestamp().Time.IsZero() {
		t.Errorf("created object lacks uid/resourceVersion/creationTimestamp: %+v", m)
	}
	if len(m.GetManagedFields()) == 0 {
		t.Errorf("created object has no managedFields")
	}
	got, err := c.Get(ctx, m.GetName(), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if g := mustMeta(t, got); g.GetUID() != m.GetUID() || g.GetResourceVersion() != m.GetResourceVersion() {
		t.Errorf("get returned uid %s rv %s, want %s %s", g.GetUID(), g.GetResourceVersion(), m.GetUID(), m.GetResourceVersion())
	}
	list, err := c.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if n := meta.LenList(list); n != 1 {
		t.Errorf("list has %d items, want 1", n)
	}
	g := mustMeta(t, got)
	l := g.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	l["updated"] = "yes"
	g.SetLabels(l)
	updated, err := c.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if u := mustMeta(t, updated); u.GetLabels()["updated"] != "yes" || u.GetResourceVersion() == m.GetResourceVersion() {
		t.Errorf("update: labels %v rv %s (was %s)", u.GetLabels(), u.GetResourceVersion(), m.GetResourceVersion())
	}
	if list, err := c.List(ctx, metav1.ListOptions{LabelSelector: "updated=yes"}); err != nil || meta.LenList(list) != 1 {
		t.Errorf("list by label after update: %d items, %v", meta.LenList(list), err)
	}
	if err := c.Delete(ctx, m.GetName(), metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.Get(ctx, m.GetName(), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get after delete: %v, want NotFound", err)
	}
	if err := c.Delete(ctx, m.GetName(), metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("second delete: %v, want NotFound", err)
	}
}

func mustMeta(t *testing.T, obj runtime.Object) metav1.Object {
	t.Helper()
	m, err := meta.Accessor(obj)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestClients runs client-go and controller-runtime clients against one in-process server.
func TestClients(t *testing.T) {
	s := apiservertest.Start(t)
	c := s.Client

	t.Run("CRUD", func(t *testing.T) {
		ns := newNamespace(t, c)
		t.Run("pods", func(t *testing.T) { testCRUD(t, c.CoreV1().Pods(ns), testPod("p", nil)) })
		t.Run("services", func(t *testing.T) {
			testCRUD(t, c.CoreV1().Services(ns), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s"},
				Spec: corev1.ServiceSpec{Selector: labels("app", "s"), Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}})
		})
		t.Run("configmaps", func(t *testing.T) {
			testCRUD(t, c.CoreV1().ConfigMaps(ns), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Data: labels("k", "v")})
		})
		t.Run("deployments", func(t *testing.T) { testCRUD(t, c.AppsV1().Deployments(ns), testDeployment("d", 2)) })
		t.Run("replicasets", func(t *testing.T) { testCRUD(t, c.AppsV1().ReplicaSets(ns), testReplicaSet("rs", 2)) })
		t.Run("daemonsets", func(t *testing.T) {
			testCRUD(t, c.AppsV1().DaemonSets(ns), &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "ds"},
				Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels("app", "ds")}, Template: podTemplate("ds")}})
		})
		t.Run("controllerrevisions", func(t *testing.T) {
			testCRUD(t, c.AppsV1().ControllerRevisions(ns), &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "cr"},
				Data: runtime.RawExtension{Raw: []byte(`{"spec":{}}`)}, Revision: 1})
		})
		t.Run("leases", func(t *testing.T) {
			testCRUD(t, c.CoordinationV1().Leases(ns), &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l"},
				Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("me"), LeaseDurationSeconds: ptr.To[int32](15),
					RenewTime: ptr.To(metav1.NowMicro())}})
		})
		t.Run("endpointslices", func(t *testing.T) {
			testCRUD(t, c.DiscoveryV1().EndpointSlices(ns), &discoveryv1.EndpointSlice{
				ObjectMeta:  metav1.ObjectMeta{Name: "es", Labels: labels(discoveryv1.LabelServiceName, "s")},
				AddressType: discoveryv1.AddressTypeIPv4,
				Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.5"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
				Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80), Protocol: ptr.To(corev1.ProtocolTCP)}},
			})
		})
		t.Run("events-core", func(t *testing.T) {
			now := metav1.Now()
			testCRUD(t, c.CoreV1().Events(ns), &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "p", APIVersion: "v1"},
				Reason:         "Testing", Message: "hello", Type: corev1.EventTypeNormal, Source: corev1.EventSource{Component: "test"},
				FirstTimestamp: now, LastTimestamp: now, Count: 1})
		})
		t.Run("events-v1", func(t *testing.T) {
			testCRUD(t, c.EventsV1().Events(ns), &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: "ev"},
				EventTime: metav1.NowMicro(), ReportingController: "skiff.dev/test", ReportingInstance: "test-1",
				Action: "Test", Reason: "Testing", Type: corev1.EventTypeNormal, Note: "hello",
				Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "p", APIVersion: "v1"}})
		})
	})

	t.Run("Selectors", func(t *testing.T) {
		ctx := ctxT(t)
		ns := newNamespace(t, c)
		pods := c.CoreV1().Pods(ns)
		onNode := testPod("on-node", labels("tier", "front"))
		onNode.Spec.NodeName = "node-a"
		for _, p := range []*corev1.Pod{onNode, testPod("pending", labels("tier", "back")), testPod("running", labels("tier", "front"))} {
			if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		running, err := pods.Get(ctx, "running", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		running.Status.Phase = corev1.PodRunning
		if _, err := pods.UpdateStatus(ctx, running, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ label, field, want string }{
			{"tier=front", "", "on-node,running"},
			{"tier!=front", "", "pending"},
			{"tier in (front,back)", "", "on-node,pending,running"},
			{"", "spec.nodeName=node-a", "on-node"},
			{"", "spec.nodeName=", "pending,running"},
			{"", "spec.nodeName!=node-a", "pending,running"},
			{"", "status.phase=Running", "running"},
			{"", "status.phase=Pending", "on-node,pending"},
			{"", "metadata.name=pending", "pending"},
			{"tier=front", "status.phase=Pending", "on-node"},
			{"", "metadata.namespace=" + ns + ",status.phase!=Running", "on-node,pending"},
		} {
			t.Run(tc.label+"|"+tc.field, func(t *testing.T) {
				list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: tc.label, FieldSelector: tc.field})
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, p := range list.Items {
					names = append(names, p.Name)
				}
				slices.Sort(names)
				if got := strings.Join(names, ","); got != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			})
		}
		t.Run("cluster-scope", func(t *testing.T) {
			list, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=node-a"})
			if err != nil || len(list.Items) != 1 || list.Items[0].Namespace != ns {
				t.Errorf("all-namespaces list by node: %v %v", list, err)
			}
		})
		t.Run("unsupported-field", func(t *testing.T) {
			_, err := pods.List(ctx, metav1.ListOptions{FieldSelector: "spec.foo=bar"})
			if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), `field label not supported: spec.foo`) {
				t.Errorf("got %v, want 400 field label not supported: spec.foo", err)
			}
			_, err = c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{FieldSelector: "data.k=v"})
			// Kinds without their own field labels answer with the generic message.
			if want := `"data.k" is not a known field selector: only "metadata.name", "metadata.namespace"`; !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), want) {
				t.Errorf("configmaps: got %v, want 400 %s", err, want)
			}
		})
		t.Run("bad-label-selector", func(t *testing.T) {
			if _, err := pods.List(ctx, metav1.ListOptions{LabelSelector: "a b c"}); !apierrors.IsBadRequest(err) {
				t.Errorf("got %v, want 400", err)
			}
		})
	})

	t.Run("Watch", func(t *testing.T) {
		ctx := ctxT(t)
		ns := newNamespace(t, c)
		cms := c.CoreV1().ConfigMaps(ns)
		list, err := cms.List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "w"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data = labels("k", "v")
		updated, err := cms.Update(ctx, cm, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := cms.Delete(ctx, "w", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		var lastRV string
		for i, want := range []watch.EventType{watch.Added, watch.Modified, watch.Deleted} {
			ev := next(t, w)
			got, ok := ev.Object.(*corev1.ConfigMap)
			if ev.Type != want || !ok || got.Name != "w" {
				t.Fatalf("event %d: %s %T, want %s of configmap w", i, ev.Type, ev.Object, want)
			}
			if want == watch.Modified && (got.Data["k"] != "v" || got.ResourceVersion != updated.ResourceVersion) {
				t.Errorf("MODIFIED carries %v rv %s, want data k=v rv %s", got.Data, got.ResourceVersion, updated.ResourceVersion)
			}
			if lastRV != "" && rvLess(got.ResourceVersion, lastRV) {
				t.Errorf("resourceVersion went back: %s after %s", got.ResourceVersion, lastRV)
			}
			lastRV = got.ResourceVersion
		}

		t.Run("from-old-resourceVersion", func(t *testing.T) {
			// Replays the three events from the list's resourceVersion.
			w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			for _, want := range []watch.EventType{watch.Added, watch.Modified, watch.Deleted} {
				if ev := next(t, w); ev.Type != want {
					t.Fatalf("got %s, want %s", ev.Type, want)
				}
			}
		})
		t.Run("label-selector", func(t *testing.T) {
			w, err := cms.Watch(ctx, metav1.ListOptions{LabelSelector: "pick=me"})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			for _, name := range []string{"skip", "pick"} {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}
				if name == "pick" {
					cm.Labels = labels("pick", "me")
				}
				if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			ev := next(t, w)
			if ev.Type != watch.Added || ev.Object.(*corev1.ConfigMap).Name != "pick" {
				t.Errorf("got %s %s, want ADDED pick", ev.Type, ev.Object.(*corev1.ConfigMap).Name)
			}
		})
		t.Run("bookmarks-before-timeout", func(t *testing.T) {
			// The watch cache sends a bookmark 2s before the watch's deadline, carrying the
			// last resourceVersion it processed for the resource, when that is newer than
			// the watch's own: a change in another namespace makes it so.
			current, err := cms.List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			w, err := cms.Watch(ctx, metav1.ListOptions{AllowWatchBookmarks: true, TimeoutSeconds: ptr.To[int64](5), ResourceVersion: current.ResourceVersion})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			other := newNamespace(t, c)
			elsewhere, err := c.CoreV1().ConfigMaps(other).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere"}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ev := next(t, w)
			if ev.Type != watch.Bookmark {
				t.Fatalf("got %s, want BOOKMARK", ev.Type)
			}
			if bm := ev.Object.(*corev1.ConfigMap); bm.ResourceVersion == "" || rvLess(bm.ResourceVersion, elsewhere.ResourceVersion) {
				t.Errorf("bookmark resourceVersion %q, want >= %s", bm.ResourceVersion, elsewhere.ResourceVersion)
			}
		})
		t.Run("initial-events-end-bookmark", func(t *testing.T) {
			// A streaming list (sendInitialEvents) ends its initial ADDED events with a bookmark.
			w, err := cms.Watch(ctx, metav1.ListOptions{AllowWatchBookmarks: true, SendInitialEvents: ptr.To(true),
				ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			var added []string
			for {
				ev := next(t, w)
				if ev.Type == watch.Bookmark {
					if a := ev.Object.(*corev1.ConfigMap).Annotations; a[metav1.InitialEventsAnnotationKey] != "true" {
						t.Errorf("bookmark annotations %v, want %s=true", a, metav1.InitialEventsAnnotationKey)
					}
					break
				}
				if ev.Type != watch.Added {
					t.Fatalf("got %s before the bookmark", ev.Type)
				}
				added = append(added, ev.Object.(*corev1.ConfigMap).Name)
			}
			slices.Sort(added)
			if !slices.Equal(added, []string{"pick", "skip"}) {
				t.Errorf("initial events %v, want pick, skip", added)
			}
		})
	})

	t.Run("Pagination", func(t *testing.T) {
		ctx := ctxT(t)
		ns := newNamespace(t, c)
		const n = 25
		for i := range n {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("page-%02d", i), Labels: labels("page", "yes")}}
			if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		for _, limit := range []int64{1, 10, 24, 25, 100} {
			t.Run(fmt.Sprint("limit=", limit), func(t *testing.T) {
				var names []string
				opts := metav1.ListOptions{Limit: limit, LabelSelector: "page=yes"}
				pages := 0
				for {
					list, err := c.CoreV1().ConfigMaps(ns).List(ctx, opts)
					if err != nil {
						t.Fatal(err)
					}
					pages++
					if int64(len(list.Items)) > limit {
						t.Fatalf("page of %d items for limit %d", len(list.Items), limit)
					}
					for _, cm := range list.Items {
						names = append(names, cm.Name)
					}
					if list.Continue == "" {
						if list.RemainingItemCount != nil {
							t.Errorf("last page has remainingItemCount %d", *list.RemainingItemCount)
						}
						break
					}
					if rem := list.RemainingItemCount; rem != nil && *rem != int64(n-len(names)) {
						t.Errorf("remainingItemCount %d after %d items, want %d", *rem, len(names), n-len(names))
					}
					opts.Continue = list.Continue
				}
				if want := (n + int(limit) - 1) / int(limit); pages != want {
					t.Errorf("%d pages, want %d", pages, want)
				}
				if len(names) != n || !slices.IsSorted(names) || slices.Compact(slices.Clone(names)) == nil || len(slices.Compact(slices.Clone(names))) != n {
					t.Errorf("got %d names %v, want %d distinct in order", len(names), names, n)
				}
			})
		}
		t.Run("bad-continue", func(t *testing.T) {
			_, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{Limit: 5, Continue: "garbage"})
			if !apierrors.IsBadRequest(err) {
				t.Errorf("got %v, want 400", err)
			}
		})
	})

	t.Run("Conflict", func(t *testing.T) {
		ctx := ctxT(t)
		ns := newNamespace(t, c)
		cms := c.CoreV1().ConfigMaps(ns)
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: labels("v", "1")}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		stale := cm.DeepCopy()
		cm.Data["v"] = "2"
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		stale.Data["v"] = "3"
		_, err = cms.Update(ctx, stale, metav1.UpdateOptions{})
		want := `Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes to the latest version and try again`
		if !apierrors.IsConflict(err) || err.Error() != want {
			t.Errorf("stale update: %v, want 409 %q", err, want)
		}
		// A stale resourceVersion precondition on delete conflicts too.
		err = cms.Delete(ctx, "c", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &stale.ResourceVersion}})
		if !apierrors.IsConflict(err) {
			t.Errorf("delete with stale precondition: %v, want 409", err)
		}
		err = cms.Delete(ctx, "c", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(types.UID("wrong"))}})
		if !apierrors.IsConflict(err) {
			t.Errorf("delete with wrong uid precondition: %v, want 409", err)
		}
		// Creating an existing name: 409 AlreadyExists.
		_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) || err.Error() != `configmaps "c" already exists` {
			t.Errorf("duplicate create: %v, want AlreadyExists", err)
		}
		// An update without resourceVersion is unconditional.
		latest, err := cms.Get(ctx, "c", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		latest.ResourceVersion = ""
		latest.Data["v"] = "4"
		if _, err := cms.Update(ctx, latest, metav1.UpdateOptions{}); err != nil {
			t.Errorf("unconditional update: %v", err)
		}
	})

	t.Run("GenerateName", func(t *testing.T) {
		ctx := ctxT(t)
		ns := newNamespace(t, c)
		seen := map[string]bool{}
		for range 3 {
			cm, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "gen-"}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(cm.Name, "gen-") || len(cm.Name) != len("gen-")+5 || cm.GenerateName != "gen-" || seen[cm.Name] {
				t.Errorf("generated name %q (generateName %q)", cm.Name, cm.GenerateName)
			}
			seen[cm.Name] = true
		}
		_, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{}, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "metadata.name: Required value: name or generateName is required") {
			t.Errorf("create without name: %v", err)
		}
	})

	t.Run("Finalizers", func(t *testing.T) {
		ctx := ctxT(t)
		ns := newNamespace(t, c)
		cms := c.CoreV1().ConfigMaps(ns)
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "f", Finalizers: []string{"skiff.dev/test"}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := cms.Delete(ctx, "f", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		cm, err := cms.Get(ctx, "f", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("object with finalizer gone after delete: %v", err)
		}
		if cm.DeletionTimestamp == nil || cm.DeletionGracePeriodSeconds == nil || *cm.DeletionGracePeriodSeconds != 0 {
			t.Errorf("deletionTimestamp %v, deletionGracePeriodSeconds %v; want set, 0", cm.DeletionTimestamp, cm.DeletionGracePeriodSeconds)
		}
		// New finalizers cannot be added while deleting (upstream ValidateObjectMetaUpdate).
		cm.Finalizers = append(cm.Finalizers, "skiff.dev/late")
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "no new finalizers can be added if the object is being deleted") {
			t.Errorf("adding a finalizer while deleting: %v, want Invalid", err)
		}
		cm, err = cms.Get(ctx, "f", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Finalizers = nil
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("removing the finalizer: %v", err)
		}
		if _, err := cms.Get(ctx, "f", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("after removing the last finalizer: %v, want NotFound", err)
		}
		// Foreground deletion adds the foregroundDeletion finalizer.
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "fg"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := cms.Delete(ctx, "fg", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}); err != nil {
			t.Fatal(err)
		}
		if cm, err := cms.Get(ctx, "fg", metav1.GetOptions{}); err != nil || !slices.Contains(cm.Finalizers, metav1.FinalizerDeleteDependents) || cm.DeletionTimestamp == nil {
			t.Errorf("foreground delete: %v %v", cm, err)
		}
	})

	t.Run("PodBinding", func(t *testing.T) {
		ctx := ctxT(t)
		ns := newNamespace(t, c)
		pods := c.CoreV1().Pods(ns)
		if _, err := pods.Create(ctx, testPod("bound", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		binding := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "bound"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-1"}}
		if err := pods.Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
			t.Fatalf("bind: %v", err)
		}
		pod, err := pods.Get(ctx, "bound", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pod.Spec.NodeName != "node-1" {
			t.Errorf("nodeName %q after bind", pod.Spec.NodeName)
		}
		scheduled := false
		for _, cond := range pod.Status.Conditions {
			scheduled = scheduled || (cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionTrue)
		}
		if !scheduled {
			t.Errorf("no PodScheduled=True condition: %v", pod.Status.Conditions)
		}
		err = pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "bound"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-2"}}, metav1.CreateOptions{})
		want := `Operation cannot be fulfilled on pods/binding "bound": pod bound is already assigned to node "node-1"`
		if !apierrors.IsConflict(err) || err.Error() != want {
			t.Errorf("second bind: %v, want 409 %q", err, want)
		}
		if err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "nope"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n"}}, metav1.CreateOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("bind of a missing pod: %v, want NotFound", err)
		}

		// A bound pod is deleted gracefully: it stays, marked, for its grace period (default 30s).
		// k8s.io/apiserver decides a graceful delete again on the watch cache's copy of the pod:
		// wait until that copy is bound (a kubelet deleting its pod always is).
		poll.Eventually(t, "the watch cache sees the binding", func() error {
			p, err := pods.Get(ctx, "bound", metav1.GetOptions{ResourceVersion: "0"})
			if err != nil || p.Spec.NodeName != "node-1" {
				return fmt.Errorf("cached pod: %v %v", err, p)
			}
			return nil
		})
		if err := pods.Delete(ctx, "bound", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		pod, err = pods.Get(ctx, "bound", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("bound pod gone right after a graceful delete: %v", err)
		}
		if pod.DeletionTimestamp == nil || pod.DeletionGracePeriodSeconds == nil || *pod.DeletionGracePeriodSeconds != 30 {
			t.Errorf("deletionTimestamp %v, deletionGracePeriodSeconds %v; want set, 30", pod.DeletionTimestamp, ptrString(pod.DeletionGracePeriodSeconds))
		}
		// Binding a terminating pod fails.
		if err := pods.Bind(ctx, binding, metav1.CreateOptions{}); err == nil {
			t.Errorf("binding a terminating pod succeeded")
		}
		// Deleting again with a shorter grace period shortens it; 0 removes the pod (what the agent does).
		if err := pods.Delete(ctx, "bound", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](10)}); err != nil {
			t.Fatal(err)
		}
		if pod, err := pods.Get(ctx, "bound", metav1.GetOptions{}); err != nil || ptrString(pod.DeletionGracePeriodSeconds) != "10" {
			t.Errorf("after delete with grace 10: %v, %v", ptrString(pod.DeletionGracePeriodSeconds), err)
		}
		if err := pods.Delete(ctx, "bound", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := pods.Get(ctx, "bound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("after delete with grace 0: %v, want NotFound", err)
		}

		// A pod never scheduled is deleted at once.
		if _, err := pods.Create(ctx, testPod("unscheduled", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := pods.Delete(ctx, "unscheduled", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := pods.Get(ctx, "unscheduled", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("unscheduled pod after delete: %v, want NotFound", err)
		}
	})

	t.Run("Scale", func(t *testing.T) {
		ctx := ctxT(t)
		ns := newNamespace(t, c)
		if _, err := c.AppsV1().Deployments(ns).Create(ctx, testDeployment("web", 3), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AppsV1().ReplicaSets(ns).Create(ctx, testReplicaSet("cache", 2), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		type scaler interface {
			GetScale(ctx context.Context, name string, opts metav1.GetOptions) (*autoscalingv1.Scale, error)
			UpdateScale(ctx context.Context, name string, scale *autoscalingv1.Scale, opts metav1.UpdateOptions) (*autoscalingv1.Scale, error)
		}
		for _, tc := range []struct {
			name     string
			client   scaler
			obj      string
			replicas int32
			selector string
			specOf   func() (int32, error)
		}{
			{"deployments", c.AppsV1().Deployments(ns), "web", 3, "app=web", func() (int32, error) {
				d, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
				if err != nil {
					return 0, err
				}
				return *d.Spec.Replicas, nil
			}},
			{"replicasets", c.AppsV1().ReplicaSets(ns), "cache", 2, "app=cache", func() (int32, error) {
				rs, err := c.AppsV1().ReplicaSets(ns).Get(ctx, "cache", metav1.GetOptions{})
				if err != nil {
					return 0, err
				}
				return *rs.Spec.Replicas, nil
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				sc, err := tc.client.GetScale(ctx, tc.obj, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if sc.Name != tc.obj || sc.Spec.Replicas != tc.replicas || sc.Status.Selector != tc.selector || sc.ResourceVersion == "" {
					t.Errorf("scale = %+v", sc)
				}
				stale := sc.DeepCopy()
				sc.Spec.Replicas = 7
				out, err := tc.client.UpdateScale(ctx, tc.obj, sc, metav1.UpdateOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if out.Spec.Replicas != 7 {
					t.Errorf("updated scale %+v", out)
				}
				if n, err := tc.specOf(); err != nil || n != 7 {
					t.Errorf("spec.replicas after scale update: %d, %v", n, err)
				}
				stale.Spec.Replicas = 1
				if _, err := tc.client.UpdateScale(ctx, tc.obj, stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
					t.Errorf("stale scale update: %v, want 409", err)
				}
				if _, err := tc.client.GetScale(ctx, "missing", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					t.Errorf("scale of missing object: %v", err)
				}
				neg, _ := tc.client.GetScale(ctx, tc.obj, metav1.GetOptions{})
				neg.Spec.Replicas = -1
				if _, err := tc.client.UpdateScale(ctx, tc.obj, neg, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
					t.Errorf("negative scale: %v, want Invalid", err)
				}
			})
		}
	})

	t.Run("Status", func(t *testing.T) {
		ctx := ctxT(t)
		ns := newNamespace(t, c)
		deploys := c.AppsV1().Deployments(ns)
		d, err := deploys.Create(ctx, testDeployment("st", 2), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Generation != 1 {
			t.Errorf("generation %d after create", d.Generation)
		}
		// UpdateStatus changes status only.
		d.Status.Replicas, d.Status.ObservedGeneration = 2, 1
		d.Spec.Replicas = ptr.To[int32](9)
		d, err = deploys.UpdateStatus(ctx, d, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status.Replicas != 2 || *d.Spec.Replicas != 2 || d.Generation != 1 {
			t.Errorf("after UpdateStatus: status.replicas %d spec.replicas %d generation %d; want 2 2 1", d.Status.Replicas, *d.Spec.Replicas, d.Generation)
		}
		// Update changes spec only, and bumps generation.
		d.Status.Replicas = 5
		d.Spec.Replicas = ptr.To[int32](4)
		d, err = deploys.Update(ctx, d, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status.Replicas != 2 || *d.Spec.Replicas != 4 || d.Generation != 2 {
			t.Errorf("after Update: status.replicas %d spec.replicas %d generation %d; want 2 4 2", d.Status.Replicas, *d.Spec.Replicas, d.Generation)
		}
		// A metadata-only update keeps generation.
		d.Labels["x"] = "y"
		if d, err = deploys.Update(ctx, d, metav1.UpdateOptions{}); err != nil || d.Generation != 2 {
			t.Errorf("label update: generation %d, %v", d.Generation, err)
		}
		// Status given on create is dropped.
		withStatus := testDeployment("created-with-status", 1)
		withStatus.Status.Replicas = 8
		if d, err := deploys.Create(ctx, withStatus, metav1.CreateOptions{}); err != nil || d.Status.Replicas != 0 {
			t.Errorf("create with status: %v, status.replicas %d", err, d.Status.Replicas)
		}
		// Pods: UpdateStatus cannot reschedule.
		pods := c.CoreV1().Pods(ns)
		p, err := pods.Create(ctx, testPod("p", nil), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Status.Phase != corev1.PodPending || p.Status.QOSClass != corev1.PodQOSBestEffort {
			t.Errorf("new pod status %+v", p.Status)
		}
		p.Spec.NodeName = "sneaky"
		p.Status.Phase = corev1.PodRunning
		if p, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil || p.Spec.NodeName != "" || p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod UpdateStatus: %v nodeName %q phase %s", err, p.Spec.NodeName, p.Status.Phase)
		}
	})

	t.Run("ServerSideApply", func(t *testing.T) {
		ctx := ctxT(t)
		ns := newNamespace(t, c)
		cms := c.CoreV1().ConfigMaps(ns)
		cm, err := cms.Apply(ctx, corev1ac.ConfigMap("ssa", ns).WithData(labels("a", "1")).WithLabels(labels("by", "tester")),
			metav1.ApplyOptions{FieldManager: "tester"})
		if err != nil {
			t.Fatal(err)
		}
		if cm.Data["a"] != "1" || !hasManager(cm.ManagedFields, "tester", metav1.ManagedFieldsOperationApply) {
			t.Errorf("applied: data %v managedFields %v", cm.Data, cm.ManagedFields)
		}
		_, err = cms.Apply(ctx, corev1ac.ConfigMap("ssa", ns).WithData(labels("a", "2")), metav1.ApplyOptions{FieldManager: "other"})
		if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), `Apply failed with 1 conflict: conflict with "tester": .data.a`) {
			t.Errorf("conflicting apply: %v", err)
		}
		cm, err = cms.Apply(ctx, corev1ac.ConfigMap("ssa", ns).WithData(labels("a", "2")), metav1.ApplyOptions{FieldManager: "other", Force: true})
		if err != nil || cm.Data["a"] != "2" || !hasManager(cm.ManagedFields, "other", metav1.ManagedFieldsOperationApply) {
			t.Errorf("forced apply: %v %v", err, cm)
		}
		// The first manager drops field a: it stays, owned by other; its label goes.
		cm, err = cms.Apply(ctx, corev1ac.ConfigMap("ssa", ns), metav1.ApplyOptions{FieldManager: "tester"})
		if err != nil || cm.Data["a"] != "2" || cm.Labels["by"] != "" {
			t.Errorf("re-apply without fields: %v data %v labels %v", err, cm.Data, cm.Labels)
		}
		// An update records an Update entry.
		cm.Data["b"] = "3"
		cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "updater"})
		if err != nil || !hasManager(cm.ManagedFields, "updater", metav1.ManagedFieldsOperationUpdate) {
			t.Errorf("update managedFields: %v %v", err, cm.ManagedFields)
		}
		// Apply on status does not touch spec (deployments), and vice versa.
		d, err := c.AppsV1().Deployments(ns).Create(ctx, testDeployment("ssa-d", 1), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.ManagedFields) == 0 || d.ManagedFields[0].Operation != metav1.ManagedFieldsOperationUpdate {
			t.Errorf("create managedFields: %v", d.ManagedFields)
		}
	})

	t.Run("Protobuf", func(t *testing.T) {
		ctx := ctxT(t)
		ns := newNamespace(t, c)
		cfg := rest.CopyConfig(s.Config)
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
		pc, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Run("pods", func(t *testing.T) { testCRUD(t, pc.CoreV1().Pods(ns), testPod("pb", labels("a", "b"))) })
		t.Run("deployments", func(t *testing.T) { testCRUD(t, pc.AppsV1().Deployments(ns), testDeployment("pbd", 1)) })
		t.Run("watch", func(t *testing.T) {
			w, err := pc.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			if _, err := pc.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pbw"}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if ev := next(t, w); ev.Type != watch.Added || ev.Object.(*corev1.ConfigMap).Name != "pbw" {
				t.Errorf("protobuf watch event %s %v", ev.Type, ev.Object)
			}
		})
		t.Run("scale", func(t *testing.T) {
			if _, err := pc.AppsV1().Deployments(ns).Create(ctx, testDeployment("pbs", 1), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if sc, err := pc.AppsV1().Deployments(ns).GetScale(ctx, "pbs", metav1.GetOptions{}); err != nil || sc.Spec.Replicas != 1 {
				t.Errorf("protobuf scale %v %v", sc, err)
			}
		})
	})

	t.Run("ControllerRuntime", func(t *testing.T) {
		ctx := ctxT(t)
		ns := newNamespace(t, c)
		cl, err := ctrlclient.New(s.Config, ctrlclient.Options{Scheme: clientgoscheme.Scheme})
		if err != nil {
			t.Fatal(err)
		}
		for i, node := range []string{"n1", "n2", ""} {
			p := testPod(fmt.Sprintf("cr-%d", i), labels("app", "cr", "i", fmt.Sprint(i)))
			p.Namespace = ns
			p.Spec.NodeName = node
			if err := cl.Create(ctx, p); err != nil {
				t.Fatal(err)
			}
			if p.UID == "" || p.ResourceVersion == "" {
				t.Errorf("create did not fill in the object: %+v", p.ObjectMeta)
			}
		}
		var p corev1.Pod
		if err := cl.Get(ctx, ctrlclient.ObjectKey{Namespace: ns, Name: "cr-0"}, &p); err != nil || p.Spec.NodeName != "n1" {
			t.Errorf("get: %v %q", err, p.Spec.NodeName)
		}
		list := func(opts ...ctrlclient.ListOption) []string {
			t.Helper()
			var l corev1.PodList
			if err := cl.List(ctx, &l, append([]ctrlclient.ListOption{ctrlclient.InNamespace(ns)}, opts...)...); err != nil {
				t.Errorf("list: %v", err)
				return nil
			}
			var names []string
			for _, p := range l.Items {
				names = append(names, p.Name)
			}
			slices.Sort(names)
			return names
		}
		if got := list(ctrlclient.MatchingLabels{"app": "cr"}); len(got) != 3 {
			t.Errorf("MatchingLabels: %v", got)
		}
		if got := list(ctrlclient.MatchingLabels{"i": "1"}); !slices.Equal(got, []string{"cr-1"}) {
			t.Errorf("MatchingLabels i=1: %v", got)
		}
		if got := list(ctrlclient.MatchingFields{"spec.nodeName": "n2"}); !slices.Equal(got, []string{"cr-1"}) {
			t.Errorf("MatchingFields spec.nodeName=n2: %v", got)
		}
		if got := list(ctrlclient.MatchingFields{"spec.nodeName": ""}); !slices.Equal(got, []string{"cr-2"}) {
			t.Errorf("MatchingFields spec.nodeName='': %v", got)
		}
		if got := list(ctrlclient.MatchingFields{"status.phase": "Pending"}, ctrlclient.MatchingLabels{"i": "0"}); !slices.Equal(got, []string{"cr-0"}) {
			t.Errorf("fields + labels: %v", got)
		}
		if got := list(ctrlclient.Limit(2)); len(got) != 2 {
			t.Errorf("Limit(2): %v", got)
		}
		// Merge patch and strategic merge patch.
		before := p.DeepCopy()
		p.Labels["patched"] = "merge"
		if err := cl.Patch(ctx, &p, ctrlclient.MergeFrom(before)); err != nil || p.Labels["patched"] != "merge" {
			t.Errorf("merge patch: %v %v", err, p.Labels)
		}
		before = p.DeepCopy()
		p.Spec.Containers[0].Image = "busybox:1.37"
		if err := cl.Patch(ctx, &p, ctrlclient.StrategicMergeFrom(before, ctrlclient.MergeFromWithOptimisticLock{})); err != nil || p.Spec.Containers[0].Image != "busybox:1.37" {
			t.Errorf("strategic patch: %v %v", err, p.Spec.Containers[0].Image)
		}
		// Status through the status client.
		before = p.DeepCopy()
		p.Status.Phase = corev1.PodRunning
		if err := cl.Status().Patch(ctx, &p, ctrlclient.MergeFrom(before)); err != nil || p.Status.Phase != corev1.PodRunning {
			t.Errorf("status patch: %v %s", err, p.Status.Phase)
		}
		// Update with a stale object conflicts.
		stale := before.DeepCopy()
		stale.Labels["stale"] = "yes"
		if err := cl.Update(ctx, stale); !apierrors.IsConflict(err) {
			t.Errorf("stale update: %v, want conflict", err)
		}
		// Unstructured objects too.
		var cm corev1.ConfigMap
		cm.Name, cm.Namespace, cm.Data = "cr-cm", ns, labels("k", "v")
		if err := cl.Create(ctx, &cm); err != nil {
			t.Fatal(err)
		}
		if err := cl.Delete(ctx, &cm); err != nil {
			t.Fatal(err)
		}
		if err := cl.Get(ctx, ctrlclient.ObjectKeyFromObject(&cm), &cm); !apierrors.IsNotFound(err) {
			t.Errorf("get after delete: %v", err)
		}
		if err := cl.DeleteAllOf(ctx, &corev1.Pod{}, ctrlclient.InNamespace(ns), ctrlclient.MatchingLabels{"app": "cr"}); err != nil {
			t.Fatal(err)
		}
		// cr-0 and cr-1 are bound: they stay, terminating; cr-2 is gone.
		if got := list(); !slices.Equal(got, []string{"cr-0", "cr-1"}) {
			t.Errorf("after DeleteAllOf: %v, want the two bound pods (terminating)", got)
		}
	})
}

func hasManager(entries []metav1.ManagedFieldsEntry, manager string, op metav1.ManagedFieldsOperationType) bool {
	for _, e := range entries {
		if e.Manager == manager && e.Operation == op {
			return true
		}
	}
	return false
}

func ptrString[T any](p *T) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprint(*p)
}

// next returns the watch's next event, failing the test after a deadline.
func next(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatalf("watch closed")
		}
		if ev.Type == watch.Error {
			t.Fatalf("watch error: %v", apierrors.FromObject(ev.Object))
		}
		return ev
	case <-time.After(timeout):
		t.Fatalf("no watch event within %v", timeout)
	}
	return watch.Event{}
}

// rvLess compares etcd-backed resourceVersions, which are decimal integers.
func rvLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// TestRestartKeepsObjects stops the server and starts another on the same data dir.
func TestRestartKeepsObjects(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := ctxT(t)
	ns := newNamespace(t, s.Client)
	uids := map[string]types.UID{}
	record := func(kind string, obj metav1.Object, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		uids[kind+"/"+obj.GetName()] = obj.GetUID()
	}
	for i := range 5 {
		cm, err := s.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("cm-", i)}}, metav1.CreateOptions{})
		record("configmap", cm, err)
	}
	d, err := s.Client.AppsV1().Deployments(ns).Create(ctx, testDeployment("d", 2), metav1.CreateOptions{})
	record("deployment", d, err)
	p, err := s.Client.CoreV1().Pods(ns).Create(ctx, testPod("p", nil), metav1.CreateOptions{})
	record("pod", p, err)
	l, err := s.Client.CoordinationV1().Leases(ns).Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l"}}, metav1.CreateOptions{})
	record("lease", l, err)
	nsObj, err := s.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	record("namespace", nsObj, err)
	if err := s.Client.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	s.Stop()
	s2 := apiservertest.StartOn(t, s.DataDir)
	c := s2.Client
	got := map[string]types.UID{}
	cms, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range cms.Items {
		got["configmap/"+cm.Name] = cm.UID
	}
	if d, err := c.AppsV1().Deployments(ns).Get(ctx, "d", metav1.GetOptions{}); err == nil {
		got["deployment/d"] = d.UID
	}
	p, err = c.CoreV1().Pods(ns).Get(ctx, "p", metav1.GetOptions{})
	if err == nil {
		got["pod/p"] = p.UID
		if p.Spec.NodeName != "n" {
			t.Errorf("pod binding lost: nodeName %q", p.Spec.NodeName)
		}
	}
	if l, err := c.CoordinationV1().Leases(ns).Get(ctx, "l", metav1.GetOptions{}); err == nil {
		got["lease/l"] = l.UID
	}
	if n, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil {
		got["namespace/"+n.Name] = n.UID
	}
	for k, uid := range uids {
		if got[k] != uid {
			t.Errorf("%s: uid %q after restart, want %q", k, got[k], uid)
		}
	}
	if len(got) != len(uids) {
		t.Errorf("after restart %d objects, want %d: %v", len(got), len(uids), got)
	}
	if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "after"}}, metav1.CreateOptions{}); err != nil {
		t.Errorf("create after restart: %v", err)
	}
}
