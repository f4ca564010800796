package staticpods_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/nodeagent/staticpods"
)

const web = `apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers: [{name: main, image: busybox, command: [sleep, "3600"]}]
`

// TestFromManifest: the kubelet's static pod: name-node, namespace default, bound to the node,
// defaulted as the API server would, a UID hashing pod, node and file (stable for the same
// three), the hash and source annotations, the NoExecute toleration.
func TestFromManifest(t *testing.T) {
	p, err := staticpods.FromManifest([]byte(web), "/etc/manifests/web.yaml", "node-1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "web-node-1" || p.Namespace != "default" || p.Spec.NodeName != "node-1" || len(p.UID) != 32 ||
		p.Annotations[staticpods.ConfigHashAnnotation] != string(p.UID) || p.Annotations[staticpods.ConfigSourceAnnotation] != "file" ||
		p.Status.Phase != corev1.PodPending || p.Status.QOSClass != corev1.PodQOSBestEffort || !staticpods.IsStatic(p) || staticpods.IsMirror(p) {
		t.Fatalf("static pod: %+v", p.ObjectMeta)
	}
	if p.Spec.RestartPolicy != corev1.RestartPolicyAlways || p.Spec.DNSPolicy != corev1.DNSClusterFirst ||
		p.Spec.Containers[0].TerminationMessagePath != corev1.TerminationMessagePathDefault {
		t.Errorf("not defaulted: %+v", p.Spec)
	}
	if tl := p.Spec.Tolerations; len(tl) != 1 || tl[0].Operator != corev1.TolerationOpExists || tl[0].Effect != corev1.TaintEffectNoExecute {
		t.Errorf("tolerations %+v", tl)
	}
	same, _ := staticpods.FromManifest([]byte(web), "/etc/manifests/web.yaml", "node-1")
	otherNode, _ := staticpods.FromManifest([]byte(web), "/etc/manifests/web.yaml", "node-2")
	otherFile, _ := staticpods.FromManifest([]byte(web), "/etc/manifests/web2.yaml", "node-1")
	edited, _ := staticpods.FromManifest([]byte(strings.Replace(web, "3600", "3601", 1)), "/etc/manifests/web.yaml", "node-1")
	if same.UID != p.UID || otherNode.UID == p.UID || otherFile.UID == p.UID || edited.UID == p.UID {
		t.Errorf("UIDs: %s same %s other node %s other file %s edited %s", p.UID, same.UID, otherNode.UID, otherFile.UID, edited.UID)
	}

	for _, tc := range []struct{ name, manifest, err string }{
		{"not a pod", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", "want a v1 Pod"},
		{"garbage", "{{{", "decoding"},
		{"invalid", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: main}]}\n", "spec.containers[0].image: Required value"},
	} {
		if _, err := staticpods.FromManifest([]byte(tc.manifest), "f.yaml", "n"); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
}

// TestLoad reads .yaml, .yml and .json files, skips hidden files, other extensions and
// directories, and reports the bad ones while keeping the good.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("web.yaml", web)
	write("db.json", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"db","namespace":"data"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`)
	write(".hidden.yaml", web)
	write("notes.txt", "hello")
	write("broken.yml", "{{{")
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	pods, errs := staticpods.Load(dir, "n1")
	var names []string
	for _, p := range pods {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	if strings.Join(names, ",") != "data/db-n1,default/web-n1" {
		t.Errorf("pods %v", names)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "broken.yml") {
		t.Errorf("errors %v", errs)
	}
	if pods, errs := staticpods.Load(filepath.Join(dir, "missing"), "n1"); pods != nil || errs != nil {
		t.Errorf("a missing directory: %v %v", pods, errs)
	}
}

// TestMirror: the mirror has no UID nor status, the mirror annotation with the hash, and its
// Node as controlling owner; it is current until the static pod changes or it is deleted.
func TestMirror(t *testing.T) {
	p, err := staticpods.FromManifest([]byte(web), "web.yaml", "n1")
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodRunning
	m := staticpods.Mirror(p, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "node-uid"}})
	if m.UID != "" || m.Status.Phase != "" || m.Annotations[corev1.MirrorPodAnnotationKey] != string(p.UID) || !staticpods.IsMirror(m) ||
		len(m.OwnerReferences) != 1 || m.OwnerReferences[0].Kind != "Node" || m.OwnerReferences[0].UID != "node-uid" || !*m.OwnerReferences[0].Controller {
		t.Fatalf("mirror: %+v", m.ObjectMeta)
	}
	if p.Annotations[corev1.MirrorPodAnnotationKey] != "" || p.UID == "" {
		t.Error("Mirror changed the static pod")
	}
	if !staticpods.MirrorCurrent(m, p) {
		t.Error("a fresh mirror is not current")
	}
	edited, _ := staticpods.FromManifest([]byte(strings.Replace(web, "3600", "1", 1)), "web.yaml", "n1")
	if staticpods.MirrorCurrent(m, edited) {
		t.Error("the mirror of the old version is current")
	}
	m.DeletionTimestamp = &metav1.Time{}
	if staticpods.MirrorCurrent(m, p) {
		t.Error("a mirror being deleted is current")
	}
}
