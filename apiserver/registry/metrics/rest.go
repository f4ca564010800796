package metrics

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	apitypes "k8s.io/apimachinery/pkg/types"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	v1listers "k8s.io/client-go/listers/core/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/utils/clock"
)

// nodeMetricsREST serves metrics.k8s.io/v1beta1 nodes: the usage of the nodes that have it,
// as metrics-server's.
type nodeMetricsREST struct {
	source Source
	nodes  v1listers.NodeLister
	clock  clock.PassiveClock
}

var (
	_ rest.Getter               = &nodeMetricsREST{}
	_ rest.Lister               = &nodeMetricsREST{}
	_ rest.Scoper               = &nodeMetricsREST{}
	_ rest.KindProvider         = &nodeMetricsREST{}
	_ rest.SingularNameProvider = &nodeMetricsREST{}
)

func (r *nodeMetricsREST) New() runtime.Object     { return &metricsv1beta1.NodeMetrics{} }
func (r *nodeMetricsREST) NewList() runtime.Object { return &metricsv1beta1.NodeMetricsList{} }
func (r *nodeMetricsREST) Destroy()                {}
func (r *nodeMetricsREST) NamespaceScoped() bool   { return false }
func (r *nodeMetricsREST) Kind() string            { return "NodeMetrics" }
func (r *nodeMetricsREST) GetSingularName() string { return "node" }

// selectors returns the list's label and field selectors (everything when absent).
func selectors(options *metainternalversion.ListOptions) (labels.Selector, fields.Selector) {
	l, f := labels.Everything(), fields.Everything()
	if options != nil && options.LabelSelector != nil {
		l = options.LabelSelector
	}
	if options != nil && options.FieldSelector != nil {
		f = options.FieldSelector
	}
	return l, f
}

// metaMatches applies a field selector to an object's metadata.name and metadata.namespace,
// the only fields metrics-server filters on.
func metaMatches(f fields.Selector, m *metav1.ObjectMeta, namespaced bool) bool {
	return f.Matches(generic.AddObjectMetaFieldsSet(fields.Set{}, m, namespaced))
}

func (r *nodeMetricsREST) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	ls, fs := selectors(options)
	nodes, err := r.nodes.List(ls)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("listing nodes for selector %v: %w", ls, err))
	}
	nodes = slices.DeleteFunc(nodes, func(n *corev1.Node) bool { return !metaMatches(fs, &n.ObjectMeta, false) })
	slices.SortFunc(nodes, func(a, b *corev1.Node) int { return cmp.Compare(a.Name, b.Name) })
	return &metricsv1beta1.NodeMetricsList{Items: r.metrics(nodes...)}, nil
}

func (r *nodeMetricsREST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	node, err := r.nodes.Get(name)
	if err != nil {
		// Not found is the node's own error (nodes "x" not found), as metrics-server's.
		return nil, err
	}
	ms := r.metrics(node)
	if len(ms) == 0 {
		return nil, apierrors.NewNotFound(metricsv1beta1.Resource("nodes"), name)
	}
	return &ms[0], nil
}

// metrics are the NodeMetrics of the nodes that have usage.
func (r *nodeMetricsREST) metrics(nodes ...*corev1.Node) []metricsv1beta1.NodeMetrics {
	out := make([]metricsv1beta1.NodeMetrics, 0, len(nodes))
	now := metav1.NewTime(r.clock.Now())
	for _, n := range nodes {
		u, ok := r.source.Node(n.Name)
		if !ok {
			continue
		}
		out = append(out, metricsv1beta1.NodeMetrics{
			ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels, CreationTimestamp: now},
			Timestamp:  metav1.NewTime(u.Timestamp), Window: metav1.Duration{Duration: u.Window}, Usage: u.Usage,
		})
	}
	return out
}

func (r *nodeMetricsREST) ConvertToTable(_ context.Context, obj runtime.Object, _ runtime.Object) (*metav1.Table, error) {
	var t metav1.Table
	switch o := obj.(type) {
	case *metricsv1beta1.NodeMetrics:
		t.ResourceVersion = o.ResourceVersion
		addRows(&t, []usageRow{{o.Name, o.Usage, o.Window.Duration, o}})
	case *metricsv1beta1.NodeMetricsList:
		t.ResourceVersion, t.Continue = o.ResourceVersion, o.Continue
		rows := make([]usageRow, len(o.Items))
		for i := range o.Items {
			rows[i] = usageRow{o.Items[i].Name, o.Items[i].Usage, o.Items[i].Window.Duration, &o.Items[i]}
		}
		addRows(&t, rows)
	}
	return &t, nil
}

// podMetricsREST serves metrics.k8s.io/v1beta1 pods: the usage of the Running pods that have
// it, as metrics-server's.
type podMetricsREST struct {
	source Source
	pods   v1listers.PodLister
	clock  clock.PassiveClock
}

var (
	_ rest.Getter               = &podMetricsREST{}
	_ rest.Lister               = &podMetricsREST{}
	_ rest.Scoper               = &podMetricsREST{}
	_ rest.KindProvider         = &podMetricsREST{}
	_ rest.SingularNameProvider = &podMetricsREST{}
)

func (r *podMetricsREST) New() runtime.Object     { return &metricsv1beta1.PodMetrics{} }
func (r *podMetricsREST) NewList() runtime.Object { return &metricsv1beta1.PodMetricsList{} }
func (r *podMetricsREST) Destroy()                {}
func (r *podMetricsREST) NamespaceScoped() bool   { return true }
func (r *podMetricsREST) Kind() string            { return "PodMetrics" }
func (r *podMetricsREST) GetSingularName() string { return "pod" }

func (r *podMetricsREST) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	ls, fs := selectors(options)
	namespace := genericapirequest.NamespaceValue(ctx)
	pods, err := r.pods.Pods(namespace).List(ls)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("listing pods for selector %v in namespace %q: %w", ls, namespace, err))
	}
	pods = slices.DeleteFunc(pods, func(p *corev1.Pod) bool { return !metaMatches(fs, &p.ObjectMeta, true) })
	slices.SortFunc(pods, func(a, b *corev1.Pod) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return &metricsv1beta1.PodMetricsList{Items: r.metrics(pods...)}, nil
}

func (r *podMetricsREST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	namespace := genericapirequest.NamespaceValue(ctx)
	pod, err := r.pods.Pods(namespace).Get(name)
	if err != nil {
		return nil, err
	}
	ms := r.metrics(pod)
	if len(ms) == 0 {
		return nil, apierrors.NewNotFound(metricsv1beta1.Resource("pods"), namespace+"/"+name)
	}
	return &ms[0], nil
}

// metrics are the PodMetrics of the Running pods that have usage.
func (r *podMetricsREST) metrics(pods ...*corev1.Pod) []metricsv1beta1.PodMetrics {
	out := make([]metricsv1beta1.PodMetrics, 0, len(pods))
	now := metav1.NewTime(r.clock.Now())
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning {
			continue
		}
		u, ok := r.source.Pod(apitypes.NamespacedName{Namespace: p.Namespace, Name: p.Name})
		if !ok {
			continue
		}
		out = append(out, metricsv1beta1.PodMetrics{
			ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: p.Labels, CreationTimestamp: now},
			Timestamp:  metav1.NewTime(u.Timestamp), Window: metav1.Duration{Duration: u.Window}, Containers: u.Containers,
		})
	}
	return out
}

func (r *podMetricsREST) ConvertToTable(_ context.Context, obj runtime.Object, _ runtime.Object) (*metav1.Table, error) {
	var t metav1.Table
	switch o := obj.(type) {
	case *metricsv1beta1.PodMetrics:
		t.ResourceVersion = o.ResourceVersion
		addRows(&t, []usageRow{{o.Name, podUsage(o), o.Window.Duration, o}})
	case *metricsv1beta1.PodMetricsList:
		t.ResourceVersion, t.Continue = o.ResourceVersion, o.Continue
		rows := make([]usageRow, len(o.Items))
		for i := range o.Items {
			rows[i] = usageRow{o.Items[i].Name, podUsage(&o.Items[i]), o.Items[i].Window.Duration, &o.Items[i]}
		}
		addRows(&t, rows)
	}
	return &t, nil
}

// podUsage is the sum of the pod's containers' usage.
func podUsage(p *metricsv1beta1.PodMetrics) corev1.ResourceList {
	sum := corev1.ResourceList{}
	for _, c := range p.Containers {
		for k, v := range c.Usage {
			q := sum[k]
			q.Add(v)
			sum[k] = q
		}
	}
	return sum
}
