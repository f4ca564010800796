package runtimeclass

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	nodelisters "k8s.io/client-go/listers/node/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/test/poll"
)

type failingGetter struct{}

func (failingGetter) Get(string) (*nodev1.RuntimeClass, error) {
	return nil, errors.New("cache broken")
}

func TestHandler(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, rc := range []*nodev1.RuntimeClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "conformance"}, Handler: "test-handler"},
		{ObjectMeta: metav1.ObjectMeta{Name: "default-runc"}, Handler: "runc"},
	} {
		if err := idx.Add(rc); err != nil {
			t.Fatal(err)
		}
	}
	lister := nodelisters.NewRuntimeClassLister(idx)
	for _, tc := range []struct {
		name    string
		class   *string
		getter  Getter
		want    string
		wantErr string
		notFnd  bool
	}{
		{name: "no class: the runtime's default", class: nil, getter: lister, want: ""},
		{name: "empty class: the default too", class: ptr.To(""), getter: lister, want: ""},
		{name: "the class's handler", class: ptr.To("conformance"), getter: lister, want: "test-handler"},
		{name: "runc by name", class: ptr.To("default-runc"), getter: lister, want: "runc"},
		{name: "a missing class is NotFound", class: ptr.To("gone"), getter: lister,
			wantErr: `runtimeclass.node.k8s.io "gone" not found`, notFnd: true},
		{name: "another error is wrapped", class: ptr.To("x"), getter: failingGetter{},
			wantErr: "failed to lookup RuntimeClass x: cache broken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Handler(tc.getter, tc.class)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || apierrors.IsNotFound(err) != tc.notFnd {
					t.Fatalf("Handler = %q, %v; want error %q (not found: %v)", got, err, tc.wantErr, tc.notFnd)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Handler = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestManager: the agent's manager reads the classes through the API (an informer on a fake
// clientset here) and follows changes.
func TestManager(t *testing.T) {
	client := fake.NewClientset(&nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "conformance"}, Handler: "test-handler"})
	m := NewManager(client)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m.Start(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), m.HasSynced) {
		t.Fatal("not synced")
	}
	pod := &corev1.Pod{Spec: corev1.PodSpec{RuntimeClassName: ptr.To("conformance")}}
	if h, err := m.Handler(pod); err != nil || h != "test-handler" {
		t.Fatalf("Handler = %q, %v", h, err)
	}
	if err := client.NodeV1().RuntimeClasses().Delete(ctx, "conformance", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "the deleted class is not found", func() error {
		if _, err := m.Handler(pod); !apierrors.IsNotFound(err) {
			return fmt.Errorf("Handler error %v, want NotFound", err)
		}
		return nil
	})
}
