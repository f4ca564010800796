package volumes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apis/helper"
)

func boundClaim(name, uid, volume string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("c-" + uid)},
		Spec:       corev1.PersistentVolumeClaimSpec{VolumeName: volume},
		Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
	}
}

func localVolume(name, claimUID, path string, mut ...func(*corev1.PersistentVolume)) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			ClaimRef:               &corev1.ObjectReference{Namespace: "ns", UID: types.UID("c-" + claimUID)},
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: path}},
		},
	}
	for _, m := range mut {
		m(pv)
	}
	return pv
}

func hostnameAffinity(host string) *corev1.VolumeNodeAffinity {
	return &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{host}}},
	}}}}
}

func claimPod(vols ...corev1.Volume) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "pod1"}, Spec: corev1.PodSpec{Volumes: vols}}
}

func pvcVolume(name, claim string, readOnly bool) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim, ReadOnly: readOnly}}}
}

func ephemeralVolume(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}}
}

func TestClaimVolumes(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	provisioned := filepath.Join(dir, "storage", "pvc-2")
	pod := claimPod()
	owned := boundClaim("p-scratch", "3", "pv-3")
	owned.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "p", UID: pod.UID, Controller: ptr.To(true)}}
	foreign := boundClaim("p-foreign", "4", "pv-4")
	foreign.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "p", UID: "other", Controller: ptr.To(true)}}
	pending := boundClaim("pending", "5", "")
	pending.Status.Phase = corev1.ClaimPending
	objs := []runtime.Object{
		boundClaim("data", "1", "pv-1"), localVolume("pv-1", "1", data),
		boundClaim("prov", "2", "pvc-2"), localVolume("pvc-2", "2", provisioned, func(pv *corev1.PersistentVolume) {
			pv.Annotations = map[string]string{helper.AnnDynamicallyProvisioned: helper.LocalPathProvisioner}
			pv.Spec.NodeAffinity = hostnameAffinity("host-1")
		}),
		boundClaim("prov-elsewhere", "14", "pvc-14"), localVolume("pvc-14", "14", filepath.Join(dir, "storage", "pvc-14"), func(pv *corev1.PersistentVolume) {
			pv.Annotations = map[string]string{helper.AnnDynamicallyProvisioned: helper.LocalPathProvisioner}
			pv.Spec.NodeAffinity = hostnameAffinity("host-2")
		}),
		owned, localVolume("pv-3", "3", data),
		foreign, localVolume("pv-4", "4", data),
		pending,
		boundClaim("p-loose", "13", "pv-3"),
		boundClaim("missing-dir", "6", "pv-6"), localVolume("pv-6", "6", filepath.Join(dir, "nope")),
		boundClaim("host", "7", "pv-7"), localVolume("pv-7", "7", "", func(pv *corev1.PersistentVolume) {
			pv.Spec.Local = nil
			pv.Spec.HostPath = &corev1.HostPathVolumeSource{Path: filepath.Join(dir, "made"), Type: ptr.To(corev1.HostPathDirectoryOrCreate)}
		}),
		boundClaim("nfs", "8", "pv-8"), localVolume("pv-8", "8", "", func(pv *corev1.PersistentVolume) {
			pv.Spec.Local = nil
			pv.Spec.NFS = &corev1.NFSVolumeSource{Server: "s", Path: "/"}
		}),
		boundClaim("rox", "9", "pv-9"), localVolume("pv-9", "9", data, func(pv *corev1.PersistentVolume) {
			pv.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany}
		}),
		boundClaim("stolen", "10", "pv-10"), localVolume("pv-10", "someone-else", data),
		boundClaim("block", "11", "pv-11"), localVolume("pv-11", "11", data, func(pv *corev1.PersistentVolume) {
			pv.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock)
		}),
		boundClaim("no-pv", "12", "pv-12"),
	}
	m := &Manager{Root: filepath.Join(dir, "pods"), Client: fake.NewClientset(objs...), Hostnames: []string{"host-1", "n1"}}
	ctx := context.Background()

	for _, tc := range []struct {
		name     string
		volume   corev1.Volume
		path     string
		readOnly bool
		err      string
	}{
		{name: "local", volume: pvcVolume("v", "data", false), path: data},
		{name: "readOnly claim volume", volume: pvcVolume("v", "data", true), path: data, readOnly: true},
		{name: "ReadOnlyMany volume", volume: pvcVolume("v", "rox", false), path: data, readOnly: true},
		{name: "provisioned, directory made again", volume: pvcVolume("v", "prov", false), path: provisioned},
		{name: "hostPath", volume: pvcVolume("v", "host", false), path: filepath.Join(dir, "made")},
		{name: "ephemeral", volume: ephemeralVolume("scratch"), path: data},
		{name: "missing claim", volume: pvcVolume("v", "nope", false),
			err: `MountVolume.SetUp failed for volume "v" : persistentvolumeclaim "nope" not found`},
		{name: "missing ephemeral claim", volume: ephemeralVolume("gone"),
			err: `persistentvolumeclaim "p-gone" not found`},
		{name: "ephemeral claim of another pod", volume: ephemeralVolume("foreign"),
			err: "PVC ns/p-foreign was not created for pod ns/p (pod is not owner)"},
		{name: "ephemeral claim without owner", volume: ephemeralVolume("loose"),
			err: "PVC ns/p-loose was not created for pod ns/p (pod is not owner)"},
		{name: "pending claim", volume: pvcVolume("v", "pending", false), err: "error processing PVC ns/pending: PVC is not bound"},
		{name: "volume bound elsewhere", volume: pvcVolume("v", "stolen", false), err: "does not point to claim.UID c-10"},
		{name: "volume gone", volume: pvcVolume("v", "no-pv", false), err: "failed to fetch PV pv-12 from API server"},
		{name: "missing local path", volume: pvcVolume("v", "missing-dir", false), err: "no such file or directory"},
		{name: "provisioned on another node", volume: pvcVolume("v", "prov-elsewhere", false), err: "no such file or directory"},
		{name: "nfs", volume: pvcVolume("v", "nfs", false), err: "volume type of PersistentVolume pv-8 not supported by skiff"},
		{name: "block", volume: pvcVolume("v", "block", false), err: "block volumes are not supported by skiff"},
	} {
		pod.Spec.Volumes = []corev1.Volume{tc.volume}
		vols, err := m.SetUp(ctx, pod)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := vols[tc.volume.Name]; got.Path != tc.path || got.ReadOnly != tc.readOnly {
			t.Errorf("%s: volume %+v, want path %s readOnly %v", tc.name, got, tc.path, tc.readOnly)
		}
	}
	if fi, err := os.Stat(provisioned); err != nil || fi.Mode().Perm() != 0o777 {
		t.Errorf("provisioned directory made again: %v %v", fi, err)
	}
	// An existing one keeps its mode (what a pod's fsGroup made of it).
	if err := os.Chmod(provisioned, os.ModeSetgid|0o770); err != nil {
		t.Fatal(err)
	}
	pod.Spec.Volumes = []corev1.Volume{pvcVolume("v", "prov", false)}
	if _, err := m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(provisioned); err != nil || fi.Mode() != os.ModeDir|os.ModeSetgid|0o770 {
		t.Errorf("provisioned directory's mode changed by a set-up: %v %v", fi, err)
	}

	// Mounts and subPaths are made in the volume itself; the pod's clean-up leaves the data.
	pod.Spec.Volumes = []corev1.Volume{pvcVolume("v", "data", false), pvcVolume("ro", "data", true)}
	vols, err := m.SetUp(ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	mounts, err := Mounts(&corev1.Container{Name: "c", VolumeMounts: []corev1.VolumeMount{
		{Name: "v", MountPath: "/data", SubPath: "sub"}, {Name: "ro", MountPath: "/ro"},
	}}, vols)
	if err != nil {
		t.Fatal(err)
	}
	if mounts[0].HostPath != filepath.Join(data, "sub") || mounts[0].Readonly || mounts[1].HostPath != data || !mounts[1].Readonly {
		t.Errorf("mounts %v", mounts)
	}
	if err := os.WriteFile(filepath.Join(data, "sub", "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(m.PodDir("pod1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.CleanUp("pod1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, "sub", "f")); err != nil {
		t.Errorf("the pod's clean-up removed the volume's data: %v", err)
	}
}

// TestClaimVolumeOwnership: a writable local volume is given to the pod's fsGroup once, as
// upstream's local plugin (recursively, setgid directories, group rw); a read-only one and a
// hostPath one are not; OnRootMismatch leaves a volume whose root is right alone.
func TestClaimVolumeOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's group to any gid needs root")
	}
	const gid = 1001
	dir := t.TempDir()
	local, host := filepath.Join(dir, "local"), filepath.Join(dir, "host")
	for _, d := range []string{filepath.Join(local, "sub"), host} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(local, "sub", "f")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	group := func(p string) (uint32, os.FileMode) {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Gid, fi.Mode()
	}
	m := &Manager{Root: filepath.Join(dir, "pods"), Client: fake.NewClientset(
		boundClaim("local", "1", "pv-1"), localVolume("pv-1", "1", local),
		boundClaim("host", "2", "pv-2"), localVolume("pv-2", "2", "", func(pv *corev1.PersistentVolume) {
			pv.Spec.Local, pv.Spec.HostPath = nil, &corev1.HostPathVolumeSource{Path: host}
		}),
	)}
	pod := claimPod(pvcVolume("ro", "local", true), pvcVolume("h", "host", false))
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr.To[int64](gid)}
	ctx := context.Background()
	if _, err := m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if g, _ := group(local); g == gid {
		t.Error("read-only local volume's ownership changed")
	}
	if g, _ := group(host); g == gid {
		t.Error("hostPath volume's ownership changed")
	}

	pod.Spec.Volumes = []corev1.Volume{pvcVolume("v", "local", false)}
	if _, err := m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{local: os.ModeDir | os.ModeSetgid | 0o775, filepath.Join(local, "sub"): os.ModeDir | os.ModeSetgid | 0o775, file: 0o660} {
		if g, mode := group(p); g != gid || mode != want {
			t.Errorf("%s: group %d mode %v, want %d %v", p, g, mode, gid, want)
		}
	}
	// Once per pod: a later sync does not walk the volume again.
	if err := os.Chmod(file, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if _, mode := group(file); mode != 0o600 {
		t.Errorf("ownership changed again on the second set-up: %v", mode)
	}

	// Another pod with OnRootMismatch: the root is right, nothing changes; Always walks again.
	pod.UID = "pod2"
	pod.Spec.SecurityContext.FSGroupChangePolicy = ptr.To(corev1.FSGroupChangeOnRootMismatch)
	if _, err := m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if _, mode := group(file); mode != 0o600 {
		t.Errorf("OnRootMismatch with a matching root changed %s: %v", file, mode)
	}
	pod.UID = "pod3"
	pod.Spec.SecurityContext.FSGroupChangePolicy = ptr.To(corev1.FSGroupChangeAlways)
	if _, err := m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if _, mode := group(file); mode != 0o660 {
		t.Errorf("Always did not walk %s: %v", file, mode)
	}
}
