package admission

import (
	"context"
	"fmt"
	"sort"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
)

// annotationIngressClass is the deprecated annotation that names an Ingress's class.
const annotationIngressClass = "kubernetes.io/ingress.class"

// DefaultIngressClass is upstream's DefaultIngressClass admission plugin: a new Ingress that
// names no class (no spec.ingressClassName, no kubernetes.io/ingress.class annotation) gets the
// IngressClass annotated ingressclass.kubernetes.io/is-default-class=true, the newest when
// several are.
type DefaultIngressClass struct {
	*admission.Handler
	lister networkinglisters.IngressClassLister
	client kubernetes.Interface
}

var _ admission.MutationInterface = &DefaultIngressClass{}

// NewDefaultIngressClass reads classes through factory's informer and, when the cache knows no
// default (a class created a moment ago), through client.
func NewDefaultIngressClass(factory informers.SharedInformerFactory, client kubernetes.Interface) *DefaultIngressClass {
	inf := factory.Networking().V1().IngressClasses()
	p := &DefaultIngressClass{Handler: admission.NewHandler(admission.Create), lister: inf.Lister(), client: client}
	p.SetReadyFunc(inf.Informer().HasSynced)
	return p
}

var ingressesResource = networkingv1.Resource("ingresses")

// Admit sets the default class on a new Ingress without one.
func (p *DefaultIngressClass) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != ingressesResource || a.GetSubresource() != "" {
		return nil
	}
	ing, ok := a.GetObject().(*networkingv1.Ingress)
	if !ok || ing.Spec.IngressClassName != nil {
		return nil
	}
	if _, ok := ing.Annotations[annotationIngressClass]; ok {
		return nil
	}
	if !p.WaitForReady() {
		return admission.NewForbidden(a, fmt.Errorf("not yet ready to handle request"))
	}
	def, err := p.defaultClass(ctx)
	if err != nil {
		return admission.NewForbidden(a, err)
	}
	if def != nil {
		ing.Spec.IngressClassName = &def.Name
	}
	return nil
}

func (p *DefaultIngressClass) defaultClass(ctx context.Context) (*networkingv1.IngressClass, error) {
	cached, err := p.lister.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	if def := newestDefaultIngressClass(cached); def != nil {
		return def, nil
	}
	list, err := p.client.NetworkingV1().IngressClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	classes := make([]*networkingv1.IngressClass, len(list.Items))
	for i := range list.Items {
		classes[i] = &list.Items[i]
	}
	return newestDefaultIngressClass(classes), nil
}

// newestDefaultIngressClass is the newest class marked default (by name on a tie), or nil.
func newestDefaultIngressClass(classes []*networkingv1.IngressClass) *networkingv1.IngressClass {
	var defaults []*networkingv1.IngressClass
	for _, c := range classes {
		if c.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true" {
			defaults = append(defaults, c)
		}
	}
	if len(defaults) == 0 {
		return nil
	}
	sort.Slice(defaults, func(i, j int) bool {
		ti, tj := defaults[i].CreationTimestamp.UnixNano(), defaults[j].CreationTimestamp.UnixNano()
		if ti == tj {
			return defaults[i].Name < defaults[j].Name
		}
		return ti > tj
	})
	return defaults[0]
}
