package images

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestPublish(t *testing.T) {
	ctx := context.Background()
	client := fake.NewSimpleClientset()
	if addr, err := Published(ctx, client); err != nil || addr != "" {
		t.Fatalf("nothing published: %q, %v", addr, err)
	}
	for _, addr := range []string{"127.0.0.1:5000", "127.0.0.1:5000", "127.0.0.1:41234"} {
		if err := Publish(ctx, client, addr); err != nil {
			t.Fatal(err)
		}
		if got, err := Published(ctx, client); err != nil || got != addr {
			t.Errorf("published %q, read %q, %v", addr, got, err)
		}
	}
	role, err := client.RbacV1().Roles(PublishedNamespace).Get(ctx, readerRole, metav1.GetOptions{})
	if err != nil || len(role.Rules) != 1 || role.Rules[0].ResourceNames[0] != PublishedName || role.Rules[0].Verbs[0] != "get" {
		t.Errorf("role: %+v, %v", role, err)
	}
	rb, err := client.RbacV1().RoleBindings(PublishedNamespace).Get(ctx, readerRole, metav1.GetOptions{})
	if err != nil || rb.Subjects[0].Name != "system:nodes" || rb.RoleRef.Name != readerRole {
		t.Errorf("role binding: %+v, %v", rb, err)
	}
}
