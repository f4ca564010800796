package volumes

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/nodeagent/podnet"
)

func TestConfigMapAndSecretFiles(t *testing.T) {
	cm := &corev1.ConfigMap{Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"bin": {0, 1}}}
	files, err := ConfigMapFiles(cm, nil, nil, false)
	if err != nil || len(files) != 3 || string(files["a"].Data) != "1" || files["a"].Mode != 0o644 || files["bin"].Data[1] != 1 {
		t.Fatalf("all keys: %v %v", files, err)
	}
	files, err = ConfigMapFiles(cm, []corev1.KeyToPath{{Key: "a", Path: "dir/x"}, {Key: "b", Path: "y", Mode: ptr.To[int32](0o400)}}, ptr.To[int32](0o600), false)
	if err != nil || len(files) != 2 || files["dir/x"].Mode != 0o600 || files["y"].Mode != 0o400 {
		t.Fatalf("items: %v %v", files, err)
	}
	if _, err := ConfigMapFiles(cm, []corev1.KeyToPath{{Key: "zz", Path: "z"}}, nil, false); err == nil || err.Error() != "configmap references non-existent config key: zz" {
		t.Fatalf("missing key: %v", err)
	}
	if files, err := ConfigMapFiles(cm, []corev1.KeyToPath{{Key: "zz", Path: "z"}}, nil, true); err != nil || len(files) != 0 {
		t.Fatalf("optional missing key: %v %v", files, err)
	}
	s := &corev1.Secret{Data: map[string][]byte{"token": []byte("t")}}
	if _, err := SecretFiles(s, []corev1.KeyToPath{{Key: "nope", Path: "n"}}, nil, false); err == nil || err.Error() != "references non-existent secret key: nope" {
		t.Fatalf("secret missing key: %v", err)
	}
}

func TestDownwardAPIFiles(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u", Labels: map[string]string{"b": "2", "a": "1"},
		Annotations: map[string]string{"k": "v"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
			Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}, Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}}}}}}
	files, err := DownwardAPIFiles(pod, []corev1.DownwardAPIVolumeFile{
		{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
		{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
		{Path: "ns", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}},
		{Path: "k", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['k']"}},
		{Path: "mem", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}},
		{Path: "cpu", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "c", Resource: "requests.cpu"}},
		{Path: "cpulim", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.cpu"}},
	}, nil, corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"labels": "a=\"1\"\nb=\"2\"", "name": "p", "ns": "ns", "k": "v", "mem": "64", "cpu": "1", "cpulim": "4"}
	for k, v := range want {
		if string(files[k].Data) != v {
			t.Errorf("%s = %q, want %q", k, files[k].Data, v)
		}
	}
	if _, err := DownwardAPIFiles(pod, []corev1.DownwardAPIVolumeFile{{Path: "x", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nope"}}}, nil, nil); err == nil {
		t.Fatal("unsupported field path accepted")
	}
}

func TestWriteAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vol")
	wrote, err := WriteAtomic(dir, map[string]File{"a": {Data: []byte("1"), Mode: 0o644}, "sub/b": {Data: []byte("2"), Mode: 0o400}})
	if err != nil || !wrote {
		t.Fatal(wrote, err)
	}
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(b)
	}
	if read("a") != "1" || read("sub/b") != "2" {
		t.Fatalf("contents %q %q", read("a"), read("sub/b"))
	}
	if fi, _ := os.Stat(filepath.Join(dir, "sub/b")); fi.Mode().Perm() != 0o400 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if target, _ := os.Readlink(filepath.Join(dir, "a")); target != "..data/a" {
		t.Fatalf("a links to %q", target)
	}
	if wrote, _ := WriteAtomic(dir, map[string]File{"a": {Data: []byte("1"), Mode: 0o644}, "sub/b": {Data: []byte("2"), Mode: 0o400}}); wrote {
		t.Fatal("unchanged content rewritten")
	}
	if wrote, err := WriteAtomic(dir, map[string]File{"a": {Data: []byte("new"), Mode: 0o644}}); !wrote || err != nil {
		t.Fatal(wrote, err)
	}
	if read("a") != "new" {
		t.Fatalf("update: %q", read("a"))
	}
	if _, err := os.Lstat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Fatalf("removed key still linked: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 { // ..data, one timestamped dir, a
		t.Fatalf("entries %v", entries)
	}
	for _, bad := range []string{"/abs", "../x", "a/../../x", "..x"} {
		if _, err := WriteAtomic(dir, map[string]File{bad: {}}); err == nil {
			t.Errorf("path %q accepted", bad)
		}
	}
}

func TestHostPathTypes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		typ  corev1.HostPathType
		err  string
	}{
		{dir, corev1.HostPathDirectory, ""},
		{file, corev1.HostPathDirectory, "hostPath type check failed: " + file + " is not a directory"},
		{filepath.Join(dir, "missing"), corev1.HostPathDirectory, "hostPath type check failed: " + filepath.Join(dir, "missing") + " is not a directory"},
		{filepath.Join(dir, "made/deep"), corev1.HostPathDirectoryOrCreate, ""},
		{file, corev1.HostPathDirectoryOrCreate, "hostPath type check failed: " + file + " is not a directory"},
		{file, corev1.HostPathFile, ""},
		{dir, corev1.HostPathFile, "hostPath type check failed: " + dir + " is not a file"},
		{filepath.Join(dir, "newfile"), corev1.HostPathFileOrCreate, ""},
		{file, corev1.HostPathSocket, "hostPath type check failed: " + file + " is not a socket file"},
		{"/dev/null", corev1.HostPathCharDev, ""},
		{file, corev1.HostPathBlockDev, "hostPath type check failed: " + file + " is not a block device"},
		{"/nowhere", corev1.HostPathUnset, ""},
	}
	for _, c := range cases {
		err := CheckHostPathType(c.path, c.typ)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.err {
			t.Errorf("%s %q: %q, want %q", c.typ, c.path, got, c.err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "made/deep")); err != nil || !fi.IsDir() {
		t.Errorf("DirectoryOrCreate did not create: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "newfile")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("FileOrCreate did not create: %v", err)
	}
}

func TestSetUpAndMounts(t *testing.T) {
	root := t.TempDir()
	client := fake.NewSimpleClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns"}, Data: map[string]string{"k": "v"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}, Data: map[string][]byte{"t": []byte("x")}},
	)
	m := &Manager{Root: root, Client: client}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid1"}, Spec: corev1.PodSpec{
		Volumes: []corev1.Volume{
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}},
			{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: ptr.To[int32](0o400)}}},
			{Name: "opt", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}, Optional: ptr.To(true)}}},
		},
	}}
	vols, err := m.SetUp(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "uid1/volumes/kubernetes.io~empty-dir/scratch"); vols["scratch"].Path != want || vols["scratch"].ReadOnly {
		t.Errorf("emptyDir %+v, want %s", vols["scratch"], want)
	}
	if b, _ := os.ReadFile(filepath.Join(vols["cfg"].Path, "k")); string(b) != "v" || !vols["cfg"].ReadOnly {
		t.Errorf("configMap file %q %+v", b, vols["cfg"])
	}
	if fi, err := os.Stat(filepath.Join(vols["sec"].Path, "t")); err != nil || fi.Mode().Perm() != 0o400 {
		t.Errorf("secret file mode: %v %v", fi, err)
	}

	c := &corev1.Container{Name: "c", VolumeMounts: []corev1.VolumeMount{
		{Name: "scratch", MountPath: "/scratch"},
		{Name: "scratch", MountPath: "/logs", SubPath: "logs", ReadOnly: true},
		{Name: "cfg", MountPath: "/etc/cfg"},
	}}
	mounts, err := Mounts(c, vols)
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) != 3 || mounts[0].Readonly || !mounts[1].Readonly || !mounts[2].Readonly ||
		mounts[1].HostPath != filepath.Join(vols["scratch"].Path, "logs") || mounts[2].ContainerPath != "/etc/cfg" {
		t.Fatalf("mounts %v", mounts)
	}
	// Created with the emptyDir's mode (0777) whatever the umask, as upstream, nested ones too:
	// a non-root container can write there.
	if fi, err := os.Stat(mounts[1].HostPath); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o777 {
		t.Errorf("subPath dir not created with the volume's mode 0777: %v %v", fi, err)
	}
	nested, err := Mounts(&corev1.Container{Name: "c", VolumeMounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/tmp", SubPath: "dirs/tmp-dir"}}}, vols)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(vols["scratch"].Path, "dirs"), nested[0].HostPath} {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o777 {
			t.Errorf("nested subPath dir %s: %v %v, want mode 0777", d, fi, err)
		}
	}
	if _, err := Mounts(&corev1.Container{Name: "c", VolumeMounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/x", SubPath: "../etc"}}}, vols); err == nil {
		t.Error("subPath with .. accepted")
	}
	if _, err := Mounts(&corev1.Container{Name: "c", VolumeMounts: []corev1.VolumeMount{{Name: "nope", MountPath: "/x"}}}, vols); err == nil ||
		err.Error() != `cannot find volume "nope" to mount into container "c"` {
		t.Errorf("missing volume: %v", err)
	}

	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "gone", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}}}})
	if _, err := m.SetUp(context.Background(), pod); err == nil || err.Error() != `MountVolume.SetUp failed for volume "gone" : configmap "gone" not found` {
		t.Errorf("missing configmap: %v", err)
	}
	if err := m.CleanUp("uid1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "uid1")); !os.IsNotExist(err) {
		t.Errorf("pod dir left: %v", err)
	}
}

// TestFSGroup: with the pod's fsGroup, as upstream's SetVolumeOwnership, an emptyDir belongs to
// the group and is setgid (what containers create there belongs to the group too), and the
// files of read-only volumes belong to the group and are group-readable: a secret of
// defaultMode 0400 becomes 0440.
func TestFSGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's group to any gid needs root")
	}
	const gid = 1001
	client := fake.NewSimpleClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}, Data: map[string][]byte{"key.pem": []byte("x")}},
	)
	m := &Manager{Root: t.TempDir(), Client: client}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid1"}, Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{FSGroup: ptr.To[int64](gid)},
		Volumes: []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: ptr.To[int32](0o400)}}},
		},
	}}
	for range 2 { // the second SetUp (every sync) changes nothing
		vols, err := m.SetUp(context.Background(), pod)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(vols["data"].Path)
		if err != nil || fi.Mode()&os.ModeSetgid == 0 || fi.Mode().Perm() != 0o777 || fi.Sys().(*syscall.Stat_t).Gid != gid {
			t.Errorf("emptyDir with fsGroup: %v %v, want setgid 0777 of group %d", fi, err, gid)
		}
		mounts, err := Mounts(&corev1.Container{Name: "c", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/tmp", SubPath: "tmp-dir"}}}, vols)
		if err != nil {
			t.Fatal(err)
		}
		fi, err = os.Stat(mounts[0].HostPath)
		if err != nil || fi.Mode()&os.ModeSetgid == 0 || fi.Mode().Perm() != 0o777 || fi.Sys().(*syscall.Stat_t).Gid != gid {
			t.Errorf("subPath of the emptyDir with fsGroup: %v %v, want setgid 0777 of group %d", fi, err, gid)
		}
		fi, err = os.Stat(filepath.Join(vols["sec"].Path, "key.pem"))
		if err != nil || fi.Mode().Perm() != 0o440 || fi.Sys().(*syscall.Stat_t).Gid != gid {
			t.Errorf("secret file with fsGroup: %v %v, want 0440 of group %d", fi, err, gid)
		}
	}
}

func TestMemorySize(t *testing.T) {
	gi := resource.MustParse("1Gi")
	alloc := corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("8Gi")}
	limited := func(limits ...string) *corev1.Pod {
		p := &corev1.Pod{}
		for _, l := range limits {
			c := corev1.Container{}
			if l != "" {
				c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(l)}
			}
			p.Spec.Containers = append(p.Spec.Containers, c)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		ed   corev1.EmptyDirVolumeSource
		want int64
	}{
		{"node allocatable", limited(""), corev1.EmptyDirVolumeSource{}, 8 << 30},
		{"pod limit", limited("1Gi", "1Gi"), corev1.EmptyDirVolumeSource{}, 2 << 30},
		{"a container without a limit", limited("1Gi", ""), corev1.EmptyDirVolumeSource{}, 8 << 30},
		{"sizeLimit", limited("4Gi"), corev1.EmptyDirVolumeSource{SizeLimit: &gi}, 1 << 30},
	} {
		if got := memorySize(tc.pod, &tc.ed, alloc); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestMemoryEmptyDirIsTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	m := &Manager{Root: t.TempDir(), Client: fake.NewSimpleClientset()}
	size := resource.MustParse("16Mi")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-tmpfs"}, Spec: corev1.PodSpec{
		Volumes: []corev1.Volume{{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &size}}}},
	}}
	t.Cleanup(func() { _ = m.CleanUp("uid-tmpfs") })
	for range 2 { // a second SetUp (every sync, or a restarted agent) does not mount again
		if _, err := m.SetUp(context.Background(), pod); err != nil {
			t.Fatal(err)
		}
	}
	dir := m.VolumeDir("uid-tmpfs", EmptyDirPlugin, "mem")
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Type != unix.TMPFS_MAGIC || int64(st.Blocks)*st.Bsize != 16<<20 {
		t.Fatalf("statfs %s: type %x size %d (%v), want a 16Mi tmpfs", dir, st.Type, int64(st.Blocks)*st.Bsize, err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o777 {
		t.Errorf("mode %v %v, want 0777", fi, err)
	}
	mounts, _ := podnet.Mounts()
	if n := len(podnet.MountsUnder(mounts, dir)); n != 1 {
		t.Errorf("%d mounts on %s, want 1", n, dir)
	}
	if err := m.CleanUp("uid-tmpfs"); err != nil {
		t.Fatal(err)
	}
	mounts, _ = podnet.Mounts()
	if left := podnet.MountsUnder(mounts, m.PodDir("uid-tmpfs")); len(left) != 0 {
		t.Errorf("left mounted: %v", left)
	}
	if _, err := os.Stat(m.PodDir("uid-tmpfs")); !os.IsNotExist(err) {
		t.Errorf("pod dir still there: %v", err)
	}
}
