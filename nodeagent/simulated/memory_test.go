package simulated

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// sinkAPI is an API that keeps nothing: writes answer with the object written (and a
// resourceVersion), a status write comes back as a watch event (as the API server's echo),
// reads of Nodes answer a Node, Leases are not found. So the heap measured is the simulated
// nodes' own.
type sinkAPI struct {
	client                   *fake.Clientset
	pods                     *watch.FakeWatcher
	nodes, leases, podWrites atomic.Int64
	rv                       atomic.Int64
}

func newSinkAPI() *sinkAPI {
	s := &sinkAPI{client: fake.NewClientset(), pods: watch.NewFakeWithChanSize(1024, false)}
	s.client.PrependReactor("*", "*", func(a k8stesting.Action) (bool, k8sruntime.Object, error) {
		rv := strconv.FormatInt(s.rv.Add(1), 10)
		switch a.GetVerb() {
		case "create":
			obj := a.(k8stesting.CreateAction).GetObject()
			m, _ := obj.(metav1.Object)
			m.SetResourceVersion(rv)
			m.SetUID(types.UID("uid-" + m.GetName()))
			switch obj.(type) {
			case *corev1.Node:
				s.nodes.Add(1)
			case *coordinationv1.Lease:
				s.leases.Add(1)
			}
			return true, obj, nil
		case "update":
			obj := a.(k8stesting.UpdateAction).GetObject()
			obj.(metav1.Object).SetResourceVersion(rv)
			if pod, ok := obj.(*corev1.Pod); ok && a.GetSubresource() == "status" {
				s.podWrites.Add(1)
				s.pods.Modify(pod.DeepCopy())
			}
			return true, obj, nil
		case "get":
			a := a.(k8stesting.GetAction)
			if a.GetResource().Resource == "nodes" {
				return true, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: a.GetName(), UID: types.UID("uid-" + a.GetName()), ResourceVersion: rv}}, nil
			}
			return true, nil, newNotFound(a.GetResource().Resource, a.GetName())
		}
		return true, nil, nil
	})
	return s
}

func (s *sinkAPI) podSource() cache.ListerWatcher {
	return listOnly{&cache.ListWatch{
		ListWithContextFunc:  func(context.Context, metav1.ListOptions) (k8sruntime.Object, error) { return &corev1.PodList{}, nil },
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) { return s.pods, nil },
	}}
}

// measure is the live heap and stacks, without the actions the fake client records.
func (s *sinkAPI) measure() (heapBytes, stackBytes uint64) {
	s.client.ClearActions()
	return liveMemory()
}

// liveMemory is the live heap and the goroutine stacks after a full collection.
func liveMemory() (heapBytes, stackBytes uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.StackInuse
}

// benchPod is a Deployment's pod as the scheduler bound it.
func benchPod(node string, i int) *corev1.Pod {
	name := fmt.Sprintf("web-7d9f8b6c5-%s-%d", node, i)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), ResourceVersion: "1", Generation: 1,
			Labels:          map[string]string{"app": "web", "pod-template-hash": "7d9f8b6c5"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d9f8b6c5", UID: "rs-uid", Controller: new(bool)}}},
		Spec: corev1.PodSpec{NodeName: node, RestartPolicy: corev1.RestartPolicyAlways, SchedulerName: "default-scheduler",
			Containers: []corev1.Container{{Name: "web", Image: "busybox", Command: []string{"sleep", "3600"},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
}

// BenchmarkNodeMemory measures the heap and goroutine stacks of a pool's simulated nodes:
// idle (registered, Leases renewed) and with 10 running pods each (their cached pod objects
// reported apart). Run it with -benchtime=1x:
//
//	go test -run '^$' -bench NodeMemory -benchtime=1x ./nodeagent/simulated/
func BenchmarkNodeMemory(b *testing.B) {
	for _, nodes := range benchNodes {
		for _, podsPerNode := range []int{0, 10} {
			b.Run(fmt.Sprintf("nodes=%d/pods=%d", nodes, podsPerNode), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					measureNodes(b, nodes, podsPerNode)
				}
			})
		}
	}
}

func measureNodes(b *testing.B, nodes, podsPerNode int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api := newSinkAPI()
	pool, err := NewPool(PoolConfig{Client: api.client, Clock: clock.RealClock{}, StatusQPS: 1e6, StatusBurst: 1e6,
		podSource: api.podSource(), nodeSource: fakeSource()})
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = pool.Start(ctx) }()
	<-pool.started
	baseHeap, baseStack := api.measure()
	baseG := runtime.NumGoroutine()
	for i := 0; i < nodes; i++ {
		if _, err := pool.Add(Config{Name: fmt.Sprintf("sim-%d", i), PodCIDR: fmt.Sprintf("10.%d.%d.0/24", 64+i/256, i%256)}); err != nil {
			b.Fatal(err)
		}
	}
	waitFor(b, func() bool { return api.nodes.Load() == int64(nodes) && api.leases.Load() == int64(nodes) })
	idleHeap, idleStack := api.measure()
	report := func(what string, heapBytes, stackBytes uint64, per int) {
		b.ReportMetric(float64(heapBytes)/1024/float64(per), what+"-heap-KiB")
		b.ReportMetric(float64(stackBytes)/1024/float64(per), what+"-stack-KiB")
	}
	if podsPerNode == 0 {
		report("node", idleHeap-baseHeap, idleStack-baseStack, nodes)
		b.ReportMetric(float64(runtime.NumGoroutine()-baseG), "goroutines")
		return
	}
	var pods []*corev1.Pod
	for i := 0; i < nodes; i++ {
		for j := 0; j < podsPerNode; j++ {
			pods = append(pods, benchPod(fmt.Sprintf("sim-%d", i), j))
		}
	}
	for _, p := range pods {
		api.pods.Add(p)
	}
	pods = nil
	total := int64(nodes * podsPerNode)
	waitFor(b, func() bool {
		return api.podWrites.Load() >= total && int64(len(pool.pods.GetIndexer().List())) == total
	})
	// every cached pod Running (the echo of its status write arrived)
	waitFor(b, func() bool {
		for _, o := range pool.pods.GetIndexer().List() {
			if o.(*corev1.Pod).Status.Phase != corev1.PodRunning {
				return false
			}
		}
		return true
	})
	fullHeap, fullStack := api.measure()
	// The cached pods' own size: a copy of them.
	var cached []*corev1.Pod
	before, _ := api.measure()
	for _, o := range pool.pods.GetIndexer().List() {
		cached = append(cached, o.(*corev1.Pod).DeepCopy())
	}
	after, _ := api.measure()
	podObjects := after - before
	runtime.KeepAlive(cached)
	report("node", fullHeap-baseHeap-podObjects, fullStack-baseStack, nodes)
	report("pod", fullHeap-idleHeap-podObjects, fullStack-idleStack, int(total))
	b.ReportMetric(float64(podObjects)/1024/float64(total), "cached-pod-object-KiB")
	b.ReportMetric(float64(runtime.NumGoroutine()-baseG), "goroutines")
}

func waitFor(b *testing.B, cond func() bool) {
	deadline := time.Now().Add(5 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatal("timed out")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func newNotFound(resource, name string) error {
	return apierrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
}

// benchNodes are the pool sizes BenchmarkNodeMemory measures.
var benchNodes = benchSizes()

func benchSizes() []int {
	if s := os.Getenv("SIMULATED_BENCH_NODES"); s != "" {
		n, _ := strconv.Atoi(s)
		return []int{n}
	}
	return []int{1000, 5000}
}
