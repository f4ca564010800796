package images

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The server's registry address is published in the ConfigMap kube-system/skiff-registry (key
// "address"), which every node may read (Role and RoleBinding skiff:registry-reader for the
// group system:nodes): a node joined without --registry uses that registry as its mirror, so
// that images imported on the server run on it.
const (
	PublishedNamespace = "kube-system"
	PublishedName      = "skiff-registry"
	PublishedKey       = "address"
	readerRole         = "skiff:registry-reader"
)

// Publish writes addr into kube-system/skiff-registry and lets nodes read it. client needs to
// write ConfigMaps and RBAC objects in kube-system (the control plane's own credential).
func Publish(ctx context.Context, client kubernetes.Interface, addr string) error {
	labels := map[string]string{"app.kubernetes.io/managed-by": "skiff"}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: PublishedName, Namespace: PublishedNamespace, Labels: labels},
		Data: map[string]string{PublishedKey: addr}}
	cms := client.CoreV1().ConfigMaps(PublishedNamespace)
	if old, err := cms.Get(ctx, PublishedName, metav1.GetOptions{}); err == nil {
		if old.Data[PublishedKey] != addr {
			old.Data = cm.Data
			if _, err := cms.Update(ctx, old, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("publishing the registry address: %w", err)
			}
		}
	} else if !apierrors.IsNotFound(err) {
		return fmt.Errorf("publishing the registry address: %w", err)
	} else if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("publishing the registry address: %w", err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: readerRole, Namespace: PublishedNamespace, Labels: labels},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{PublishedName}}}}
	if _, err := client.RbacV1().Roles(PublishedNamespace).Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("role %s: %w", readerRole, err)
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: readerRole, Namespace: PublishedNamespace, Labels: labels},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: readerRole},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:nodes"}}}
	if _, err := client.RbacV1().RoleBindings(PublishedNamespace).Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("role binding %s: %w", readerRole, err)
	}
	return nil
}

// Published returns the registry address the server published, "" if none.
func Published(ctx context.Context, client kubernetes.Interface) (string, error) {
	cm, err := client.CoreV1().ConfigMaps(PublishedNamespace).Get(ctx, PublishedName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(cm.Data[PublishedKey]), nil
}

// Reachable checks that a registry answers at addr (GET /v2/).
func Reachable(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET http://%s/v2/: %s", addr, resp.Status)
	}
	return nil
}
