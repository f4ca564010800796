package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// snapLabel marks the objects the snapshot test counts.
const snapLabel = "skiff-e2e-snapshot"

// TestSnapshotSaveWipeRestore creates objects of several kinds, saves a snapshot of the live
// cluster (`skiff etcd snapshot save`), stops it, wipes the data dir, restores it (`skiff etcd
// snapshot restore`) and starts again: every object comes back (counted per kind, with its uid),
// and the admin kubeconfig from before the wipe still works (same CA).
func TestSnapshotSaveWipeRestore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startSkiffT(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	cfg := s.restConfig(t)
	cfg.QPS, cfg.Burst = 500, 1000
	client := kubernetes.NewForConfigOrDie(cfg)

	check := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const nNS, perNS = 4, 25
	labels := map[string]string{snapLabel: "yes"}
	for i := range nNS {
		ns := fmt.Sprintf("snap-%d", i)
		check(client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{}))
		for j := range perNS {
			meta := metav1.ObjectMeta{Name: fmt.Sprintf("o-%d", j), Namespace: ns, Labels: labels}
			check(client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"j": fmt.Sprint(j)}}, metav1.CreateOptions{}))
			check(client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: meta, Data: map[string][]byte{"secret": []byte(fmt.Sprint(j))}}, metav1.CreateOptions{}))
			if j < 5 {
				check(client.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{
					Selector: map[string]string{"app": meta.Name}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}, metav1.CreateOptions{}))
				check(client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{
					Replicas: ptr.To[int32](0), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": meta.Name}},
					Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": meta.Name}},
						Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}}}, metav1.CreateOptions{}))
			}
		}
	}
	before := countSnapObjects(ctx, t, client)
	want := map[string]int{"namespaces": nNS, "configmaps": nNS * perNS, "secrets": nNS * perNS, "services": nNS * 5, "deployments": nNS * 5}
	for kind, n := range want {
		if len(before[kind]) != n {
			t.Fatalf("before the snapshot: %d %s, want %d", len(before[kind]), kind, n)
		}
	}

	file := filepath.Join(t.TempDir(), "backup.snap")
	out := runSkiff(t, "etcd", "snapshot", "save", file, "--data-dir", dir)
	t.Logf("save: %s", strings.TrimSpace(out))
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot file: %v, mode %v (want 0600: it holds the CA key)", err, st.Mode())
	}
	// The archive carries the cluster-wide credentials (and the encryption-at-rest key, without
	// which the restored Secrets could not be read), never a member's own serving key.
	entries, err := exec.Command("tar", "-tzf", file).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"etcd/snapshot.db", "pki/ca.crt", "pki/ca.key"} {
		if !strings.Contains(string(entries), want+"\n") {
			t.Errorf("archive lacks %s:\n%s", want, entries)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "encryption-config.yaml")); err == nil && !strings.Contains(string(entries), "encryption-config.yaml\n") {
		t.Errorf("archive lacks the encryption config:\n%s", entries)
	}
	if strings.Contains(string(entries), "pki/apiserver.key") {
		t.Errorf("archive carries the member's serving key:\n%s", entries)
	}
	oldKubeconfig, err := os.ReadFile(s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}

	out = runSkiff(t, "etcd", "snapshot", "restore", file, "--data-dir", dir)
	t.Logf("restore: %s", strings.TrimSpace(out))
	// Restoring over an existing member is refused.
	if b, err := execSkiff("etcd", "snapshot", "restore", file, "--data-dir", dir); err == nil || !strings.Contains(b, "already holds etcd data") {
		t.Errorf("restore into a used data dir: err=%v, output %q", err, b)
	}
	s2 := startSkiffT(t, dir)
	// The kubeconfig from before the wipe (the same CA and client certificate) works against
	// the restored server, on its new port.
	oldCfg, err := clientcmd.RESTConfigFromKubeConfig(oldKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	oldCfg.Host = s2.restConfig(t).Host
	oldCfg.QPS, oldCfg.Burst = 500, 1000
	after := countSnapObjects(ctx, t, kubernetes.NewForConfigOrDie(oldCfg))
	for _, kind := range slices.Sorted(maps.Keys(want)) {
		if !maps.Equal(before[kind], after[kind]) {
			t.Errorf("%s: %d before, %d after restore; missing or changed: %v", kind, len(before[kind]), len(after[kind]), diffKeys(before[kind], after[kind]))
		} else {
			t.Logf("%s: all %d back with their uids", kind, len(after[kind]))
		}
	}
	// Secret data survives, and the restored cluster takes writes.
	sec, err := kubernetes.NewForConfigOrDie(oldCfg).CoreV1().Secrets("snap-1").Get(ctx, "o-7", metav1.GetOptions{})
	if err != nil || string(sec.Data["secret"]) != "7" {
		t.Errorf("secret after restore: %v %v", sec, err)
	}
	s2.ok(t, "create", "configmap", "after-restore", "-n", "snap-0")
	s2.ok(t, "delete", "namespace", "snap-0", "snap-1", "snap-2", "snap-3", "--wait=false")
}

// countSnapObjects maps kind to namespace/name -> uid of the labelled objects.
func countSnapObjects(ctx context.Context, t *testing.T, c kubernetes.Interface) map[string]map[string]string {
	t.Helper()
	sel := metav1.ListOptions{LabelSelector: snapLabel}
	out := map[string]map[string]string{}
	add := func(kind string, items []metav1.Object) {
		m := map[string]string{}
		for _, o := range items {
			m[o.GetNamespace()+"/"+o.GetName()] = string(o.GetUID())
		}
		out[kind] = m
	}
	var err error
	retry := func(f func() error) {
		deadline := time.Now().Add(30 * time.Second)
		for err = f(); err != nil && time.Now().Before(deadline); err = f() {
			time.Sleep(200 * time.Millisecond) // polling interval while the server starts
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	retry(func() error {
		l, err := c.CoreV1().Namespaces().List(ctx, sel)
		if err == nil {
			add("namespaces", objs(l.Items))
		}
		return err
	})
	retry(func() error {
		l, err := c.CoreV1().ConfigMaps("").List(ctx, sel)
		if err == nil {
			add("configmaps", objs(l.Items))
		}
		return err
	})
	retry(func() error {
		l, err := c.CoreV1().Secrets("").List(ctx, sel)
		if err == nil {
			add("secrets", objs(l.Items))
		}
		return err
	})
	retry(func() error {
		l, err := c.CoreV1().Services("").List(ctx, sel)
		if err == nil {
			add("services", objs(l.Items))
		}
		return err
	})
	retry(func() error {
		l, err := c.AppsV1().Deployments("").List(ctx, sel)
		if err == nil {
			add("deployments", objs(l.Items))
		}
		return err
	})
	return out
}

func objs[T any, PT interface {
	*T
	metav1.Object
}](items []T) []metav1.Object {
	out := make([]metav1.Object, len(items))
	for i := range items {
		out[i] = PT(&items[i])
	}
	return out
}

func diffKeys(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, k)
		}
	}
	slices.Sort(d)
	if len(d) > 10 {
		d = append(d[:10], "...")
	}
	return d
}

// execSkiff runs the skiff binary and returns its combined output.
func execSkiff(args ...string) (string, error) {
	out, err := exec.Command(skiffBin, args...).CombinedOutput()
	return string(out), err
}
