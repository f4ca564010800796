package scheduler

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/persistentvolume"
)

func withClaim(claim string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: claim,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}})
	}
}

func localVolume(name, node, class string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: class,
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/" + name}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}}}}}}}}
}

func pvc(name, class string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: &class,
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
}

// TestVolumeBinding runs the scheduler with the PV controller on a real API server; the test
// plays the local-path provisioner.
func TestVolumeBinding(t *testing.T) {
	sched := New(fastConfig())
	base := controllers.Base{SkipNameValidation: true}
	s := controllertest.Start(t, sched.SetupWithManager, (&persistentvolume.Controller{Base: base}).SetupWithManager)
	e := &env{client: s.Client, ctx: t.Context(), sched: sched}
	for _, n := range []string{"n1", "n2"} {
		e.createNode(t, makeNode(n, "4", "8Gi", 110))
	}
	ctx := t.Context()
	mustCreate := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, sc := range []*storagev1.StorageClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "local"}, Provisioner: helper.LocalPathProvisioner, VolumeBindingMode: ptr(storagev1.VolumeBindingWaitForFirstConsumer)},
		{ObjectMeta: metav1.ObjectMeta{Name: "static"}, Provisioner: helper.NoProvisioner, VolumeBindingMode: ptr(storagev1.VolumeBindingWaitForFirstConsumer)},
		{ObjectMeta: metav1.ObjectMeta{Name: "now"}, Provisioner: "example.com/none", VolumeBindingMode: ptr(storagev1.VolumeBindingImmediate)},
	} {
		_, err := e.client.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{})
		mustCreate(err)
	}
	createClaim := func(c *corev1.PersistentVolumeClaim) {
		_, err := e.client.CoreV1().PersistentVolumeClaims("default").Create(ctx, c, metav1.CreateOptions{})
		mustCreate(err)
	}

	t.Run("missing claim", func(t *testing.T) {
		e.createPod(t, makePod("orphan", "", "", withClaim("nope")))
		e.waitUnschedulable(t, "orphan", `0/2 nodes are available: persistentvolumeclaim "nope" not found. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.`)
	})

	t.Run("unbound immediate claim", func(t *testing.T) {
		createClaim(pvc("now", "now"))
		e.createPod(t, makePod("eager", "", "", withClaim("now")))
		e.waitUnschedulable(t, "eager", "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")
	})

	t.Run("static local volume decides the node", func(t *testing.T) {
		_, err := e.client.CoreV1().PersistentVolumes().Create(ctx, localVolume("disk-n2", "n2", "static"), metav1.CreateOptions{})
		mustCreate(err)
		createClaim(pvc("disk", "static"))
		e.createPod(t, makePod("pinned", "", "", withClaim("disk")))
		if n := e.waitBound(t, "pinned"); n != "n2" {
			t.Fatalf("pinned on %s, want n2 (its volume's node)", n)
		}
		// The claim is taken: the next pod with a claim of that class finds no volume anywhere.
		createClaim(pvc("disk2", "static"))
		e.createPod(t, makePod("second", "", "", withClaim("disk2")))
		e.waitUnschedulable(t, "second", "0/2 nodes are available: 2 node(s) didn't find available persistent volumes to bind. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")
	})

	t.Run("bound volume on another node", func(t *testing.T) {
		// A second pod of the claim bound on n2, forced by its node selector to n1.
		e.createPod(t, makePod("elsewhere", "", "", withClaim("disk"), func(p *corev1.Pod) {
			p.Spec.NodeSelector = map[string]string{corev1.LabelHostname: "n1"}
		}))
		e.waitUnschedulable(t, "elsewhere", "0/2 nodes are available: 1 node(s) didn't match PersistentVolume's node affinity, 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")
	})

	t.Run("provisioned on the chosen node", func(t *testing.T) {
		createClaim(pvc("fresh", "local"))
		w, err := e.client.CoreV1().PersistentVolumeClaims("default").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=fresh"})
		mustCreate(err)
		defer w.Stop()
		e.createPod(t, makePod("consumer", "", "", withClaim("fresh"), func(p *corev1.Pod) {
			p.Spec.NodeSelector = map[string]string{corev1.LabelHostname: "n1"}
		}))
		// The provisioner's part: once the claim names the node and the provisioner, a volume there.
		node := provision(ctx, t, e, w)
		if node != "n1" {
			t.Errorf("selected node %q, want n1", node)
		}
		if n := e.waitBound(t, "consumer"); n != "n1" {
			t.Fatalf("consumer on %s, want n1", n)
		}
	})
}

// provision waits for the claim to ask the local-path provisioner for a volume on a node and
// creates it there, bound to the claim; it returns the node.
func provision(ctx context.Context, t *testing.T, e *env, w watch.Interface) string {
	t.Helper()
	for ev := range w.ResultChan() {
		claim, ok := ev.Object.(*corev1.PersistentVolumeClaim)
		if !ok {
			continue
		}
		node := claim.Annotations[helper.AnnSelectedNode]
		if node == "" || claim.Annotations[helper.AnnStorageProvisioner] != helper.LocalPathProvisioner {
			continue
		}
		pv := localVolume("pvc-"+string(claim.UID), node, "local")
		pv.Annotations = map[string]string{helper.AnnDynamicallyProvisioned: helper.LocalPathProvisioner}
		pv.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID}
		if _, err := e.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return node
	}
	t.Fatal(fmt.Errorf("watch ended before the claim asked for a volume"))
	return ""
}
