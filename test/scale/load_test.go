package scale

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// Namespaces and Deployments of the load: deploymentsPerNamespace Deployments of replicas
// pods each, so a namespace holds 1,000 pods at the default 100 replicas (upstream's
// namespace threshold is 3,000 pods).
const deploymentsPerNamespace = 10

// layout splits pods into Deployments of at most replicas pods, deploymentsPerNamespace a
// namespace: the replicas of each Deployment by namespace index and Deployment index.
func layout(pods, replicas int) [][]int {
	var out [][]int
	for left := pods; left > 0; {
		var ns []int
		for len(ns) < deploymentsPerNamespace && left > 0 {
			r := min(replicas, left)
			ns = append(ns, r)
			left -= r
		}
		out = append(out, ns)
	}
	return out
}

func namespaceName(i int) string { return fmt.Sprintf("scale-%d", i) }

func deployment(name string, replicas int) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To[int64](1),
					Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: resource.MustParse("1m"), corev1.ResourceMemory: resource.MustParse("1Mi")}}}},
				},
			},
		},
	}
}

// createLoad creates the namespaces and Deployments with workers clients limited to qps
// requests per second together.
func createLoad(ctx context.Context, c kubernetes.Interface, plan [][]int, workers int, qps float64) error {
	for i := range plan {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespaceName(i)}}
		if _, err := c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", ns.Name, err)
		}
	}
	type job struct {
		ns       string
		name     string
		replicas int
	}
	jobs := make(chan job)
	tick := time.NewTicker(time.Duration(float64(time.Second) / qps))
	defer tick.Stop()
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if _, err := c.AppsV1().Deployments(j.ns).Create(ctx, deployment(j.name, j.replicas), metav1.CreateOptions{}); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("creating deployment %s/%s: %w", j.ns, j.name, err) })
				}
			}
		}()
	}
	defer func() { close(jobs); wg.Wait() }()
	for i, ns := range plan {
		for d, replicas := range ns {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
			jobs <- job{ns: namespaceName(i), name: fmt.Sprintf("load-%d", d), replicas: replicas}
		}
	}
	return firstErr
}

// podTracker follows every pod with one protobuf informer: how many are scheduled and Running,
// and each pod's startup latency (creation to the watch showing it Running, as
// clusterloader2's PodStartupLatency "create to watch").
type podTracker struct {
	scheduled, running, total atomic.Int64
	mu                        sync.Mutex
	seen                      map[types.UID]uint8 // bit 1 scheduled, bit 2 running
	startup                   []time.Duration
	// names of some pods by namespace, for the probes' single gets.
	names map[string][]string
}

const (
	seenScheduled = 1 << iota
	seenRunning
)

func newPodTracker() *podTracker {
	return &podTracker{seen: map[types.UID]uint8{}, names: map[string][]string{}}
}

func (p *podTracker) observe(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	bits, known := p.seen[pod.UID]
	if !known {
		p.total.Add(1)
		if len(p.names[pod.Namespace]) < 50 {
			p.names[pod.Namespace] = append(p.names[pod.Namespace], pod.Name)
		}
	}
	if pod.Spec.NodeName != "" && bits&seenScheduled == 0 {
		bits |= seenScheduled
		p.scheduled.Add(1)
	}
	if pod.Status.Phase == corev1.PodRunning && bits&seenRunning == 0 {
		bits |= seenRunning
		p.running.Add(1)
		p.startup = append(p.startup, time.Since(pod.CreationTimestamp.Time))
	}
	p.seen[pod.UID] = bits
}

func (p *podTracker) forget(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	bits, known := p.seen[pod.UID]
	if !known {
		return
	}
	p.total.Add(-1)
	if bits&seenScheduled != 0 {
		p.scheduled.Add(-1)
	}
	if bits&seenRunning != 0 {
		p.running.Add(-1)
	}
	delete(p.seen, pod.UID)
}

func (p *podTracker) startupLatencies() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Duration(nil), p.startup...)
}

func (p *podTracker) somePod(r *rand.Rand) (ns, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ns, names := range p.names {
		if len(names) > 0 {
			return ns, names[r.IntN(len(names))]
		}
	}
	return "", ""
}

// slimPod keeps what the tracker reads, so that 50,000 pods cost the test little memory.
func slimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID,
			ResourceVersion: pod.ResourceVersion, CreationTimestamp: pod.CreationTimestamp},
		Spec:   corev1.PodSpec{NodeName: pod.Spec.NodeName},
		Status: corev1.PodStatus{Phase: pod.Status.Phase},
	}, nil
}

func startTrackers(ctx context.Context, c kubernetes.Interface) (*podTracker, cache.SharedIndexInformer, error) {
	factory := informers.NewSharedInformerFactory(c, 0)
	pods := factory.Core().V1().Pods().Informer()
	if err := pods.SetTransform(slimPod); err != nil {
		return nil, nil, err
	}
	tracker := newPodTracker()
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: tracker.observe, UpdateFunc: func(_, o any) { tracker.observe(o) }, DeleteFunc: tracker.forget,
	}); err != nil {
		return nil, nil, err
	}
	nodes := factory.Core().V1().Nodes().Informer()
	if err := nodes.SetTransform(func(obj any) (any, error) {
		n, ok := obj.(*corev1.Node)
		if !ok {
			return obj, nil
		}
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, ResourceVersion: n.ResourceVersion},
			Status: corev1.NodeStatus{Conditions: n.Status.Conditions}}, nil
	}); err != nil {
		return nil, nil, err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), pods.HasSynced, nodes.HasSynced) {
		return nil, nil, fmt.Errorf("pod and node informers did not sync: %w", ctx.Err())
	}
	return tracker, nodes, nil
}

func readyNodes(nodes cache.SharedIndexInformer) int {
	n := 0
	for _, obj := range nodes.GetStore().List() {
		if node, ok := obj.(*corev1.Node); ok && nodeReady(node) {
			n++
		}
	}
	return n
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// probes are the client-side API calls made during the load, one SLO class each, with their
// latencies: a PATCH of a ConfigMap and a GET of a pod every second, a LIST of a namespace's
// pods every 5 s, and every 30 s a cluster-wide LIST of pods paginated by 500 (kubectl's
// chunking) and of nodes.
type probes struct {
	mu  sync.Mutex
	lat map[string][]time.Duration
	err map[string]int
}

func (p *probes) record(class string, d time.Duration, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.err[class]++
		return
	}
	p.lat[class] = append(p.lat[class], d)
}

func (p *probes) latencies(class string) ([]time.Duration, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Duration(nil), p.lat[class]...), p.err[class]
}

func runProbes(ctx context.Context, c kubernetes.Interface, tracker *podTracker) *probes {
	p := &probes{lat: map[string][]time.Duration{}, err: map[string]int{}}
	r := rand.New(rand.NewPCG(1, 2))
	timed := func(class string, f func() error) {
		start := time.Now()
		err := f()
		p.record(class, time.Since(start), err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "scale-probe"}, Data: map[string]string{"n": "0"}}
	_, _ = c.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{})
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			timed(ClassMutating, func() error {
				patch := fmt.Sprintf(`{"data":{"n":"%d"}}`, i)
				_, err := c.CoreV1().ConfigMaps("default").Patch(ctx, "scale-probe", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
				return err
			})
			if ns, name := tracker.somePod(r); name != "" {
				timed(ClassGet, func() error {
					_, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
					return err
				})
			}
			if i%5 == 0 {
				timed(ClassNamespace, func() error {
					_, err := c.CoreV1().Pods(namespaceName(0)).List(ctx, metav1.ListOptions{})
					return err
				})
			}
			if i%30 == 0 {
				go func() {
					continueToken := ""
					for {
						var list *corev1.PodList
						var err error
						timed(ClassCluster, func() error {
							list, err = c.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 500, Continue: continueToken})
							return err
						})
						if err != nil || list.Continue == "" {
							break
						}
						continueToken = list.Continue
					}
					timed(ClassCluster, func() error {
						_, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
						return err
					})
				}()
			}
		}
	}()
	return p
}

// countPaged lists page by page from opts (list returns a page's items and its continue token)
// and counts the items, and those for which match holds.
func countPaged[T any](ctx context.Context, opts metav1.ListOptions, list func(context.Context, metav1.ListOptions) ([]T, string, error),
	match func(*T) bool) (matched, total int, err error) {
	for {
		items, next, err := list(ctx, opts)
		if err != nil {
			return 0, 0, err
		}
		for i := range items {
			total++
			if match(&items[i]) {
				matched++
			}
		}
		if next == "" {
			return matched, total, nil
		}
		opts.Continue = next
	}
}

// leasesRenewedSince counts the node Leases renewed at or after since.
func leasesRenewedSince(ctx context.Context, c kubernetes.Interface, since time.Time) (int, error) {
	n, _, err := countPaged(ctx, metav1.ListOptions{Limit: 1000}, func(ctx context.Context, opts metav1.ListOptions) ([]coordinationv1.Lease, string, error) {
		l, err := c.CoordinationV1().Leases("kube-node-lease").List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}, func(l *coordinationv1.Lease) bool { return renewedSince(l, since) })
	return n, err
}

// issuedServingCertificates counts the kubelet-serving CertificateSigningRequests that carry
// their certificate.
func issuedServingCertificates(ctx context.Context, c kubernetes.Interface) (int, error) {
	opts := metav1.ListOptions{Limit: 1000, FieldSelector: "spec.signerName=" + certificatesv1.KubeletServingSignerName}
	n, _, err := countPaged(ctx, opts, func(ctx context.Context, opts metav1.ListOptions) ([]certificatesv1.CertificateSigningRequest, string, error) {
		l, err := c.CertificatesV1().CertificateSigningRequests().List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}, func(csr *certificatesv1.CertificateSigningRequest) bool { return len(csr.Status.Certificate) > 0 })
	return n, err
}

func renewedSince(l *coordinationv1.Lease, since time.Time) bool {
	// RenewTime has microsecond precision; since is truncated to the second to be safe.
	return l.Spec.RenewTime != nil && !l.Spec.RenewTime.Time.Before(since.Truncate(time.Second))
}

// runningPods lists every pod (paginated) and counts the Running ones.
func runningPods(ctx context.Context, c kubernetes.Interface) (running, total int, err error) {
	return countPaged(ctx, metav1.ListOptions{Limit: 5000}, func(ctx context.Context, opts metav1.ListOptions) ([]corev1.Pod, string, error) {
		l, err := c.CoreV1().Pods("").List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
}

// metricsText is the API server's /metrics.
func metricsText(ctx context.Context, c kubernetes.Interface) ([]byte, error) {
	return c.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
}

func callHistograms(ctx context.Context, c kubernetes.Interface) (map[CallKey]Histogram, error) {
	raw, err := metricsText(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("reading /metrics: %w", err)
	}
	return ParseCallHistograms(bytes.NewReader(raw))
}
