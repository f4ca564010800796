package agent

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/nodeagent/staticpods"
)

// staticPod returns the static pod of a UID, nil when there is none.
func (a *Agent) staticPod(uid types.UID) *corev1.Pod {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.static[uid]
}

// syncStaticPods reads the manifest directory and hands new static pods to their workers and
// removed (or edited: a new UID) ones to termination, as the kubelet's file source feeding its
// config: ADD, REMOVE. A manifest that does not decode is logged and its pod left alone.
func (a *Agent) syncStaticPods(ctx context.Context) {
	if a.cfg.PodManifestPath == "" {
		return
	}
	log := klog.FromContext(ctx)
	pods, errs := staticpods.Load(a.cfg.PodManifestPath, a.cfg.NodeName)
	for _, err := range errs {
		log.Error(err, "Static pod manifest skipped")
	}
	want := map[types.UID]*corev1.Pod{}
	for _, p := range pods {
		want[p.UID] = p
	}
	a.mu.Lock()
	if a.static == nil {
		a.static = map[types.UID]*corev1.Pod{}
	}
	var added, removed []*corev1.Pod
	for uid, p := range want {
		if _, ok := a.static[uid]; !ok {
			a.static[uid] = p
			added = append(added, p)
		}
	}
	for uid, p := range a.static {
		if _, ok := want[uid]; !ok {
			delete(a.static, uid)
			if a.staticRemoved == nil {
				a.staticRemoved = map[types.UID]string{}
			}
			a.staticRemoved[uid] = p.Namespace + "/" + p.Name
			removed = append(removed, p)
		}
	}
	a.mu.Unlock()
	for _, p := range removed {
		log.Info("Static pod removed", "pod", klog.KObj(p), "uid", p.UID)
		a.workers.KillPod(p, nil)
	}
	for _, p := range added {
		log.Info("Static pod added", "pod", klog.KObj(p), "uid", p.UID)
		a.handlePod(ctx, p)
	}
}

// syncMirrors keeps a mirror pod in the API for each static pod (created when missing,
// replaced when it is another version's or being deleted) and deletes mirrors of static pods
// that are gone, as the kubelet's mirror client.
func (a *Agent) syncMirrors(ctx context.Context) {
	if a.pods == nil {
		return
	}
	log := klog.FromContext(ctx)
	a.mu.Lock()
	byKey := map[string]*corev1.Pod{}
	for _, p := range a.static {
		byKey[p.Namespace+"/"+p.Name] = p
	}
	// Removed static pods whose termination is still going on keep their mirrors, as the
	// kubelet's deleteOrphanedMirrorPods: the pod is shown until its containers are gone.
	removed := map[types.UID]string{}
	for uid, key := range a.staticRemoved {
		removed[uid] = key
	}
	a.mu.Unlock()
	terminating := map[string]bool{}
	for uid, key := range removed {
		if a.workers.IsTerminated(uid) || !a.known(uid) {
			a.mu.Lock()
			delete(a.staticRemoved, uid)
			a.mu.Unlock()
			a.workers.Forget(uid)
			continue
		}
		terminating[key] = true
	}
	pods := a.cfg.Client.CoreV1().Pods
	// Mirrors that belong to no static pod, to an old version of one, or that someone deletes
	// (the API waits for the node to finish a bound pod's deletion) go at once.
	for _, obj := range a.pods.List() {
		m := obj.(*corev1.Pod)
		if !staticpods.IsMirror(m) {
			continue
		}
		if s, ok := byKey[m.Namespace+"/"+m.Name]; ok && staticpods.MirrorCurrent(m, s) || terminating[m.Namespace+"/"+m.Name] && m.DeletionTimestamp == nil {
			continue
		}
		uid := m.UID
		err := pods(m.Namespace).Delete(ctx, m.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64), Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			log.Error(err, "Deleting mirror pod failed", "pod", klog.KObj(m))
		}
	}
	var missing []*corev1.Pod
	for key, s := range byKey {
		if obj, ok, _ := a.pods.GetByKey(key); ok && staticpods.IsMirror(obj.(*corev1.Pod)) {
			continue // current (kept above) or being replaced (deleted above; created next round)
		}
		missing = append(missing, s)
	}
	if len(missing) == 0 {
		return
	}
	node, err := a.cfg.Client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		log.Error(err, "Reading the node for mirror pods failed")
		return
	}
	for _, s := range missing {
		created, err := pods(s.Namespace).Create(ctx, staticpods.Mirror(s, node), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			log.Error(err, "Creating mirror pod failed", "pod", klog.KObj(s))
			continue
		}
		log.Info("Mirror pod created", "pod", klog.KObj(created))
		// The new mirror gets the static pod's status at once.
		a.mu.Lock()
		st, ok := a.lastStatus[s.UID]
		a.mu.Unlock()
		if ok {
			created.Status = st
			if _, err := pods(s.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
				log.Error(err, "Writing mirror pod status failed", "pod", klog.KObj(created))
			}
		}
	}
}

// writeMirrorStatus writes a static pod's status to its mirror (when the mirror is the
// current one), and keeps it on the static pod the agent holds.
func (a *Agent) writeMirrorStatus(ctx context.Context, pod *corev1.Pod, st corev1.PodStatus) error {
	a.mu.Lock()
	if s, ok := a.static[pod.UID]; ok {
		s.Status = *st.DeepCopy()
	}
	a.lastStatus[pod.UID] = st
	a.mu.Unlock()
	if a.pods == nil {
		return nil
	}
	obj, ok, _ := a.pods.GetByKey(pod.Namespace + "/" + pod.Name)
	if !ok {
		return nil // the mirror comes with syncMirrors, with this status
	}
	m := obj.(*corev1.Pod)
	if !staticpods.IsMirror(m) || !staticpods.MirrorCurrent(m, pod) || string(statusJSON(&m.Status)) == string(statusJSON(&st)) {
		return nil
	}
	m = m.DeepCopy()
	m.Status = st
	_, err := a.cfg.Client.CoreV1().Pods(m.Namespace).UpdateStatus(ctx, m, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // a newer mirror: the next sync writes it
	}
	return err
}

// runStaticPods reads the manifest directory and reconciles the mirrors every period (the
// kubelet also watches the directory with inotify; Skiff polls).
func (a *Agent) runStaticPods(ctx context.Context) {
	t := a.cfg.Clock.NewTicker(a.cfg.StaticPodCheckPeriod)
	defer t.Stop()
	for {
		a.syncMirrors(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		case <-a.mirrorChanged:
			// a mirror was deleted or changed in the API: reconcile now.
			drain(a.mirrorChanged)
		}
		a.syncStaticPods(ctx)
	}
}

func drain(c chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// pokeMirrors asks runStaticPods for a reconcile without waiting.
func (a *Agent) pokeMirrors() {
	select {
	case a.mirrorChanged <- struct{}{}:
	default:
	}
}

// defaultStaticPodCheckPeriod is how often the manifest directory is read.
const defaultStaticPodCheckPeriod = 5 * time.Second
