package localpath

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiff-dev/skiff/test/poll"
)

// events records the provisioner's events as "<reason> <message>".
type events struct {
	mu  sync.Mutex
	all []string
}

func (e *events) Event(_ runtime.Object, _, reason, message string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, reason+" "+message)
}

func (e *events) Eventf(o runtime.Object, t, reason, f string, args ...any) {
	e.Event(o, t, reason, fmt.Sprintf(f, args...))
}

func (e *events) AnnotatedEventf(o runtime.Object, _ map[string]string, t, reason, f string, args ...any) {
	e.Eventf(o, t, reason, f, args...)
}

// has waits for an event starting with prefix.
func (e *events) has(prefix string) func() error {
	return func() error {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, s := range e.all {
			if strings.HasPrefix(s, prefix) {
				return nil
			}
		}
		return fmt.Errorf("no event %q in %q", prefix, e.all)
	}
}

// classes serves StorageClasses to the provisioner, without the API.
type classes struct {
	mu sync.Mutex
	m  map[string]*storagev1.StorageClass
	// misses counts reads of classes not (yet) there.
	misses int
}

func (c *classes) add(sc *storagev1.StorageClass) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[sc.Name] = sc
}

func (c *classes) get(_ context.Context, name string) (*storagev1.StorageClass, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sc, ok := c.m[name]; ok {
		return sc, nil
	}
	c.misses++
	return nil, apierrors.NewNotFound(storagev1.Resource("storageclasses"), name)
}

// startProvisioner runs a provisioner for node n1 on client, with classes (the local-path
// class to begin with) served by a getter and its root in a temporary directory.
func startProvisioner(t *testing.T, client kubernetes.Interface) (*events, string, *classes) {
	t.Helper()
	cls := &classes{m: map[string]*storagev1.StorageClass{}}
	cls.add(testClass())
	root := filepath.Join(t.TempDir(), "storage")
	ev := &events{}
	p, err := New(Config{Client: client, NodeName: "n1", Root: root, Recorder: ev, RetryBase: 10 * time.Millisecond,
		StorageClass: cls.get})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
	return ev, root, cls
}

func getVolume(ctx context.Context, c kubernetes.Interface, name string) func() error {
	return func() error {
		_, err := c.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		return err
	}
}

func goneVolume(ctx context.Context, c kubernetes.Interface, name string) func() error {
	return func() error {
		_, err := c.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("volume %s still there (%v)", name, err)
	}
}

func TestProvisionerProvisionsAndDeletes(t *testing.T) {
	ctx := context.Background()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{corev1.LabelHostname: "host-1"}}}
	client := fake.NewClientset(node, testClaim())
	ev, root, _ := startProvisioner(t, client)

	poll.Eventually(t, "volume provisioned", getVolume(ctx, client, "pvc-u1"))
	pv, _ := client.CoreV1().PersistentVolumes().Get(ctx, "pvc-u1", metav1.GetOptions{})
	dir := filepath.Join(root, "pvc-u1")
	if pv.Spec.Local == nil || pv.Spec.Local.Path != dir || !OnNode(pv, "host-1") || pv.Spec.ClaimRef.UID != "u1" {
		t.Errorf("volume %+v", pv.Spec)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o777 || !fi.IsDir() {
		t.Errorf("directory %s: %v %v", dir, fi, err)
	}
	poll.Eventually(t, "success event", ev.has("ProvisioningSucceeded Successfully provisioned volume pvc-u1"))
	if err := ev.has(`Provisioning External provisioner is provisioning volume for claim "ns/data"`)(); err != nil {
		t.Error(err)
	}

	// Data written there goes with the volume once it is released.
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	pv.Status.Phase = corev1.VolumeReleased
	if _, err := client.CoreV1().PersistentVolumes().UpdateStatus(ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "volume deleted", goneVolume(ctx, client, "pvc-u1"))
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory left: %v", err)
	}

	// A released volume pointing outside the root is deleted neither on disk nor in the API.
	outside := t.TempDir()
	bad := testVolume(func(pv *corev1.PersistentVolume) {
		pv.Name = "pvc-bad"
		pv.Spec.Local.Path = outside
	})
	if _, err := client.CoreV1().PersistentVolumes().Create(ctx, bad, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "refusal event", ev.has("VolumeFailedDelete refusing to delete"))
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("outside directory removed: %v", err)
	}
	if err := getVolume(ctx, client, "pvc-bad")(); err != nil {
		t.Error(err)
	}
}

func TestProvisionerRefusesUnsupportedClaims(t *testing.T) {
	ctx := context.Background()
	rwx := testClaim(func(c *corev1.PersistentVolumeClaim) {
		c.Name, c.UID = "rwx", "u2"
		c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
	})
	other := testClaim(func(c *corev1.PersistentVolumeClaim) {
		c.Name, c.UID = "elsewhere", "u3"
		c.Annotations["volume.kubernetes.io/selected-node"] = "n2"
	})
	client := fake.NewClientset(rwx, other)
	ev, _, cls := startProvisioner(t, client)
	poll.Eventually(t, "failure event", ev.has("ProvisioningFailed skiff.dev/local-path only supports ReadWriteOnce and ReadWriteOncePod"))

	// A class that appears later is read again on the retry.
	late := testClaim(func(c *corev1.PersistentVolumeClaim) {
		c.Name, c.UID = "late", "u4"
		c.Spec.StorageClassName = nil
		c.Annotations["volume.beta.kubernetes.io/storage-class"] = "missing"
	})
	if _, err := client.CoreV1().PersistentVolumeClaims("ns").Create(ctx, late, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "missing class read", func() error {
		cls.mu.Lock()
		defer cls.mu.Unlock()
		if cls.misses == 0 {
			return fmt.Errorf("class not read yet")
		}
		return nil
	})
	cls.add(testClass(func(c *storagev1.StorageClass) { c.Name = "missing" }))
	poll.Eventually(t, "volume of the claim on its class", getVolume(ctx, client, "pvc-u4"))
	pvs, _ := client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	var names []string
	for _, pv := range pvs.Items {
		names = append(names, pv.Name)
	}
	if !slices.Equal(names, []string{"pvc-u4"}) {
		t.Errorf("volumes %v, want only pvc-u4", names)
	}
}
