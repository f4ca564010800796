// Package controller reconciles Websites into a ConfigMap, a Deployment and a Service.
package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	webv1alpha1 "github.com/skiff-dev/skiff/test/operator/api/v1alpha1"
)

// WebsiteReconciler makes each Website's children match its spec and reports their state.
type WebsiteReconciler struct {
	client.Client
}

// +kubebuilder:rbac:groups=web.example.com,resources=websites;websites/status,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services;configmaps,verbs=get;list;watch;create;update;patch;delete

// Reconcile creates or updates the Website's ConfigMap, Deployment and Service (each with the
// Website as controller owner, so deleting the Website garbage-collects them) and writes the
// status.
func (r *WebsiteReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	logger := log.FromContext(ctx)
	site := &webv1alpha1.Website{}
	if err := r.Get(ctx, req.NamespacedName, site); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !site.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	labels := map[string]string{"app.kubernetes.io/name": "website", "app.kubernetes.io/instance": site.Name}

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: site.Name + "-content", Namespace: site.Namespace}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, cm, func() error {
		cm.Labels = labels
		cm.Data = map[string]string{"index.html": site.Spec.Content}
		return controllerutil.SetControllerReference(site, cm, r.Scheme())
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("configmap: %w", err)
	}

	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: site.Name, Namespace: site.Namespace}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, dep, func() error {
		dep.Labels = labels
		dep.Spec.Replicas = ptr.To(ptr.Deref(site.Spec.Replicas, 1))
		dep.Spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
		dep.Spec.Template.Labels = labels
		image := site.Spec.Image
		if image == "" {
			image = "skiff/skiff-http:latest"
		}
		dep.Spec.Template.Spec.Containers = []corev1.Container{{
			Name: "web", Image: image,
			Ports:        []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			VolumeMounts: []corev1.VolumeMount{{Name: "content", MountPath: "/www", ReadOnly: true}},
		}}
		dep.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "content", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}}}}}
		return controllerutil.SetControllerReference(site, dep, r.Scheme())
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("deployment: %w", err)
	}

	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: site.Name, Namespace: site.Namespace}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, svc, func() error {
		svc.Labels = labels
		svc.Spec.Selector = labels
		svc.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}
		return controllerutil.SetControllerReference(site, svc, r.Scheme())
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("service: %w", err)
	}

	want := ptr.Deref(dep.Spec.Replicas, 1)
	site.Status.ReadyReplicas = dep.Status.ReadyReplicas
	site.Status.URL = fmt.Sprintf("http://%s.%s.svc", svc.Name, svc.Namespace)
	site.Status.ObservedGeneration = site.Generation
	cond := metav1.Condition{Type: "Available", Status: metav1.ConditionFalse, Reason: "ReplicasNotReady",
		Message: fmt.Sprintf("%d of %d replicas ready", dep.Status.ReadyReplicas, want), ObservedGeneration: site.Generation}
	if dep.Status.ReadyReplicas >= want && dep.Status.ObservedGeneration >= dep.Generation {
		cond.Status, cond.Reason = metav1.ConditionTrue, "ReplicasReady"
	}
	meta.SetStatusCondition(&site.Status.Conditions, cond)
	if err := r.Status().Update(ctx, site); err != nil {
		// A conflict means a newer Website is queued already.
		return ctrl.Result{}, client.IgnoreNotFound(fmt.Errorf("status: %w", err))
	}
	logger.V(1).Info("Reconciled website", "readyReplicas", site.Status.ReadyReplicas)
	return ctrl.Result{}, nil
}

// SetupWithManager watches Websites and the children they own.
func (r *WebsiteReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&webv1alpha1.Website{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&corev1.ConfigMap{}).
		Complete(r)
}
