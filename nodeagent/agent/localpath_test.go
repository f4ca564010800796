package agent

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/test/poll"
)

// emptyRuntime is a runtime with no sandboxes and no containers.
type emptyRuntime struct{ nilRuntime }

func (emptyRuntime) Version(context.Context, string) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{RuntimeName: "fake", RuntimeVersion: "0"}, nil
}

func (emptyRuntime) ListPodSandbox(context.Context, *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	return nil, nil
}

func (emptyRuntime) ListContainers(context.Context, *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	return nil, nil
}

// emptyImages is an image service with no images and no image file system.
type emptyImages struct{ nilImages }

func (emptyImages) ListImages(context.Context, *runtimeapi.ImageFilter) ([]*runtimeapi.Image, error) {
	return nil, nil
}

func (emptyImages) ImageFsInfo(context.Context) (*runtimeapi.ImageFsInfoResponse, error) {
	return &runtimeapi.ImageFsInfoResponse{}, nil
}

// TestAgentRunsLocalPathProvisioner: a started agent provisions the claims selected for its
// node under <DataDir>/storage.
func TestAgentRunsLocalPathProvisioner(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset(
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: helper.LocalPathClass}, Provisioner: helper.LocalPathProvisioner},
		&corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "data", UID: "c1", Annotations: map[string]string{
				helper.AnnStorageProvisioner: helper.LocalPathProvisioner, helper.AnnSelectedNode: "n1"}},
			Spec: corev1.PersistentVolumeClaimSpec{
				StorageClassName: ptr.To(helper.LocalPathClass),
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		})
	dir := t.TempDir()
	a, err := New(Config{NodeName: "n1", Client: client, RuntimeService: emptyRuntime{}, ImageService: emptyImages{}, DataDir: dir, NodeIP: "10.0.0.1", PodCIDR: "10.1.0.0/24",
		ResolvConf: filepath.Join(dir, "resolv.conf"), RelistPeriod: time.Hour, StatusInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Start(actx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	}()
	var pv *corev1.PersistentVolume
	poll.Until(t, 10*time.Second, "volume provisioned by the agent", func() (err error) {
		pv, err = client.CoreV1().PersistentVolumes().Get(ctx, "pvc-c1", metav1.GetOptions{})
		return err
	})
	if want := filepath.Join(dir, "storage", "pvc-c1"); pv.Spec.Local == nil || pv.Spec.Local.Path != want {
		t.Errorf("volume source %+v, want local %s", pv.Spec.PersistentVolumeSource, want)
	}
}
