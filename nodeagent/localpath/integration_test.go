package localpath_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/nodeagent/localpath"
	"github.com/skiff-dev/skiff/test/poll"
)

// TestProvisionerWithAPIServer runs a node's provisioner, with the node's identity (so the node
// authorizer and NodeRestriction decide), against the in-process API server: a claim handed to
// skiff.dev/local-path and selected for the node gets its directory and volume, with the
// external-provisioner's events; once the volume is Released (what the PV controller does when
// the claim goes) the directory, the volume and its finalizer go.
//
// StorageClasses are read through the injected getter: the API server of this branch may not
// serve storage.k8s.io yet.
func TestProvisionerWithAPIServer(t *testing.T) {
	srv := apiservertest.Start(t)
	admin := srv.Client
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{corev1.LabelHostname: "host-1"}}}
	if _, err := admin.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	nodeCfg := rest.CopyConfig(srv.Config)
	nodeCfg.Impersonate = rest.ImpersonationConfig{UserName: "system:node:n1", Groups: []string{"system:nodes", "system:authenticated"}}
	nodeClient, err := kubernetes.NewForConfig(nodeCfg)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "storage")
	class := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: helper.LocalPathClass}, Provisioner: helper.LocalPathProvisioner,
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)}
	p, err := localpath.New(localpath.Config{Client: nodeClient, NodeName: "n1", Root: root, RetryBase: 50 * time.Millisecond,
		StorageClass: func(_ context.Context, name string) (*storagev1.StorageClass, error) {
			if name != class.Name {
				return nil, apierrors.NewNotFound(storagev1.Resource("storageclasses"), name)
			}
			return class, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	pctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Start(pctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	}()

	claim, err := admin.CoreV1().PersistentVolumeClaims("default").Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Annotations: map[string]string{
			helper.AnnStorageProvisioner: helper.LocalPathProvisioner, helper.AnnSelectedNode: "n1"}},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: ptr.To(helper.LocalPathClass),
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("64Mi")}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := "pvc-" + string(claim.UID)
	var pv *corev1.PersistentVolume
	poll.Eventually(t, "volume provisioned", func() (err error) {
		pv, err = admin.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		return err
	})
	dir := filepath.Join(root, name)
	if pv.Spec.Local == nil || pv.Spec.Local.Path != dir || pv.Spec.ClaimRef.UID != claim.UID || !localpath.OnNode(pv, "host-1") ||
		!slices.Contains(pv.Finalizers, helper.ProvisionerDeletionFinalizer) || pv.Annotations[helper.AnnDynamicallyProvisioned] != helper.LocalPathProvisioner {
		t.Errorf("volume %+v", pv)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("volume directory: %v", err)
	}
	poll.Eventually(t, "the external-provisioner's events on the claim", func() error {
		evs, err := admin.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=data"})
		if err != nil {
			return err
		}
		var got []string
		for _, e := range evs.Items {
			got = append(got, e.Reason+": "+e.Message+" ("+e.Source.Component+")")
		}
		want := []string{
			`Provisioning: External provisioner is provisioning volume for claim "default/data" (skiff.dev/local-path)`,
			"ProvisioningSucceeded: Successfully provisioned volume " + name + " (skiff.dev/local-path)",
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				return fmt.Errorf("events %q, want %q", got, want)
			}
		}
		return nil
	})

	// The claim goes; the PV controller (not running here) releases the volume.
	if err := os.WriteFile(filepath.Join(dir, "data"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	pv.Status.Phase = corev1.VolumeReleased
	if _, err := admin.CoreV1().PersistentVolumes().UpdateStatus(ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "released volume deleted (or left to pv-protection)", func() error {
		got, err := admin.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		// Admission's pv-protection finalizer stays: its controller does not run here.
		if got.DeletionTimestamp != nil && slices.Equal(got.Finalizers, []string{helper.PVProtectionFinalizer}) {
			return nil
		}
		return fmt.Errorf("volume still there: deletion %v, finalizers %v", got.DeletionTimestamp, got.Finalizers)
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("volume directory left: %v", err)
	}
}
