package fault

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/yaml"

	chaosv1alpha1 "github.com/skiff-dev/skiff/apis/chaos/v1alpha1"
	"github.com/skiff-dev/skiff/config/crd"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/test/poll"
)

func TestValidate(t *testing.T) {
	d := &metav1.Duration{Duration: time.Minute}
	tests := []struct {
		name string
		spec chaosv1alpha1.FaultSpec
		want string
	}{
		{"heartbeat ok", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.NodeHeartbeat, NodeHeartbeat: &chaosv1alpha1.NodeHeartbeatFault{NodeName: "n"}, Duration: d}, ""},
		{"heartbeat no node", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.NodeHeartbeat, Duration: d}, "spec.nodeHeartbeat.nodeName: Required value"},
		{"heartbeat zero duration", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.NodeHeartbeat, NodeHeartbeat: &chaosv1alpha1.NodeHeartbeatFault{NodeName: "n"}, Duration: &metav1.Duration{}}, "spec.duration: Invalid value: must be positive"},
		{"image pull no duration", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.ImagePull, ImagePull: &chaosv1alpha1.ImagePullFault{NodeName: "n"}}, "spec.duration: Invalid value: must be positive"},
		{"pod kill by name", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.PodKill, PodKill: &chaosv1alpha1.PodKillFault{PodName: "p"}}, ""},
		{"pod kill both", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.PodKill, PodKill: &chaosv1alpha1.PodKillFault{PodName: "p", Selector: &metav1.LabelSelector{}}}, "spec.podKill: Invalid value: exactly one of podName and selector must be set"},
		{"pod kill bad selector", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.PodKill, PodKill: &chaosv1alpha1.PodKillFault{Selector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Near"}}}}}, `spec.podKill.selector: Invalid value: "Near" is not a valid label selector operator`},
		{"unknown type", chaosv1alpha1.FaultSpec{Type: "Meteor"}, `spec.type: Unsupported value: "Meteor"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := validate(&chaosv1alpha1.Fault{Spec: tc.spec}); got != tc.want {
				t.Errorf("validate = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestImageMatches(t *testing.T) {
	tests := []struct {
		entry, ref string
		want       bool
	}{
		{"skiff/busybox", "127.0.0.1:5000/skiff/busybox:latest", true},
		{"busybox", "127.0.0.1:5000/skiff/busybox:latest", true},
		{"127.0.0.1:5000/skiff/busybox:latest", "127.0.0.1:5000/skiff/busybox:latest", true},
		{"skiff/busybox:1.0", "127.0.0.1:5000/skiff/busybox:latest", false},
		{"busy", "127.0.0.1:5000/skiff/busybox:latest", false},
		{"nginx", "nginx@sha256:abc", true},
		{"", "nginx", false},
	}
	for _, tc := range tests {
		if got := chaosv1alpha1.ImageMatches(tc.entry, tc.ref); got != tc.want {
			t.Errorf("ImageMatches(%q, %q) = %v, want %v", tc.entry, tc.ref, got, tc.want)
		}
	}
}

type env struct {
	t *testing.T
	c client.Client
}

// start runs an API server with the project's CRDs and the fault controller.
func start(t *testing.T, killTimeout time.Duration) *env {
	t.Helper()
	s := controllertest.Start(t, func(mgr manager.Manager) error {
		if err := crd.Install(context.Background(), mgr.GetConfig()); err != nil {
			return err
		}
		return (&Reconciler{Base: controllers.Base{SkipNameValidation: true}, KillTimeout: killTimeout}).SetupWithManager(mgr)
	})
	scheme, err := controllers.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(s.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, c: c}
}

func (e *env) create(obj client.Object) {
	e.t.Helper()
	if err := e.c.Create(context.Background(), obj); err != nil {
		e.t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// waitPhase waits until the Fault reaches phase and returns it.
func (e *env) waitPhase(name string, phase chaosv1alpha1.FaultPhase, timeout time.Duration) *chaosv1alpha1.Fault {
	e.t.Helper()
	f := &chaosv1alpha1.Fault{}
	poll.Until(e.t, timeout, fmt.Sprintf("fault %s in phase %s", name, phase), func() error {
		if err := e.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, f); err != nil {
			return err
		}
		if f.Status.Phase != phase {
			return fmt.Errorf("status %+v", f.Status)
		}
		return nil
	})
	return f
}

func fault(name string, spec chaosv1alpha1.FaultSpec) *chaosv1alpha1.Fault {
	return &chaosv1alpha1.Fault{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: spec}
}

func node(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func pod(name, nodeName string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: labels},
		Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
}

func TestNodeFaultsStartAndEnd(t *testing.T) {
	e := start(t, time.Minute)
	e.create(node("n1"))
	for _, f := range []*chaosv1alpha1.Fault{
		fault("heartbeat", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.NodeHeartbeat,
			NodeHeartbeat: &chaosv1alpha1.NodeHeartbeatFault{NodeName: "n1"}, Duration: &metav1.Duration{Duration: 2 * time.Second}}),
		fault("pull", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.ImagePull,
			ImagePull: &chaosv1alpha1.ImagePullFault{NodeName: "n1", Images: []string{"skiff/busybox"}}, Duration: &metav1.Duration{Duration: time.Second}}),
		fault("missing", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.NodeHeartbeat,
			NodeHeartbeat: &chaosv1alpha1.NodeHeartbeatFault{NodeName: "nope"}, Duration: &metav1.Duration{Duration: time.Minute}}),
	} {
		e.create(f)
	}
	running := e.waitPhase("heartbeat", chaosv1alpha1.FaultRunning, 10*time.Second)
	if running.Status.StartTime == nil || running.Status.Target != "node/n1" ||
		!apimeta.IsStatusConditionTrue(running.Status.Conditions, chaosv1alpha1.ConditionInjected) {
		t.Errorf("heartbeat running: status %+v", running.Status)
	}
	for name, d := range map[string]time.Duration{"heartbeat": 2 * time.Second, "pull": time.Second} {
		done := e.waitPhase(name, chaosv1alpha1.FaultSucceeded, 10*time.Second)
		// metav1.Time has second precision: the end is exactly the stored start plus the duration.
		if done.Status.StartTime == nil || done.Status.EndTime == nil || done.Status.EndTime.Sub(done.Status.StartTime.Time) != d {
			t.Errorf("%s: start %v end %v, want end = start + %s", name, done.Status.StartTime, done.Status.EndTime, d)
		}
		c := apimeta.FindStatusCondition(done.Status.Conditions, chaosv1alpha1.ConditionInjected)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != chaosv1alpha1.ReasonEnded {
			t.Errorf("%s: condition %+v, want Injected=False Ended", name, c)
		}
	}
	failed := e.waitPhase("missing", chaosv1alpha1.FaultFailed, 10*time.Second)
	if failed.Status.Message != `nodes "nope" not found` || failed.Status.StartTime != nil || failed.Status.EndTime == nil {
		t.Errorf("missing node: status %+v", failed.Status)
	}
}

func TestPodKill(t *testing.T) {
	e := start(t, 1500*time.Millisecond)
	ctx := context.Background()
	e.create(node("n1"))
	// pods need their service account (no service account controller runs here)
	if err := e.c.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "default"}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	e.create(pod("web-a", "n1", map[string]string{"app": "web"}))
	e.create(pod("web-b", "n1", map[string]string{"app": "web"}))
	e.create(pod("unscheduled", "", map[string]string{"app": "web"}))
	e.create(pod("db", "n1", map[string]string{"app": "db"}))
	e.create(fault("kill-web", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.PodKill,
		PodKill: &chaosv1alpha1.PodKillFault{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}))
	e.create(fault("kill-none", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.PodKill,
		PodKill: &chaosv1alpha1.PodKillFault{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "none"}}}}))
	e.create(fault("kill-db", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.PodKill, PodKill: &chaosv1alpha1.PodKillFault{PodName: "db"}}))

	running := e.waitPhase("kill-web", chaosv1alpha1.FaultRunning, 10*time.Second)
	if running.Status.Target != "pods/app=web (2)" || len(running.Status.Pods) != 2 ||
		running.Status.Pods[0].Name != "web-a" || running.Status.Pods[1].Name != "web-b" || running.Status.Pods[0].NodeName != "n1" {
		t.Fatalf("kill-web running: %+v", running.Status)
	}
	// The node kills web-a's containers; web-b is deleted before it does.
	running.Status.Pods[0].KillTime = ptr.To(metav1.Now())
	running.Status.Pods[0].Containers = []string{"c"}
	if err := e.c.Status().Update(ctx, running); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Delete(ctx, pod("web-b", "", nil)); err != nil {
		t.Fatal(err)
	}
	done := e.waitPhase("kill-web", chaosv1alpha1.FaultSucceeded, 15*time.Second)
	if done.Status.Message != "Killed the containers of 1 pod(s); 1 pod(s) went away first" || done.Status.EndTime == nil {
		t.Errorf("kill-web done: %+v", done.Status)
	}

	none := e.waitPhase("kill-none", chaosv1alpha1.FaultFailed, 10*time.Second)
	if none.Status.Message != "No running pods in namespace default match app=none" {
		t.Errorf("kill-none: %q", none.Status.Message)
	}
	// Nobody kills db's containers: the fault fails after the kill timeout.
	timedOut := e.waitPhase("kill-db", chaosv1alpha1.FaultFailed, 15*time.Second)
	if c := apimeta.FindStatusCondition(timedOut.Status.Conditions, chaosv1alpha1.ConditionInjected); c == nil || c.Reason != chaosv1alpha1.ReasonKillTimeout ||
		timedOut.Status.Message != "The containers of pod db on node n1 were not killed within 1.5s" {
		t.Errorf("kill-db: %+v", timedOut.Status)
	}
}

// TestSchemaValidation checks the CRD's rules (CEL and enums) through the real API server.
func TestSchemaValidation(t *testing.T) {
	e := start(t, time.Minute)
	ctx := context.Background()
	d := &metav1.Duration{Duration: time.Minute}
	tests := []struct {
		name string
		spec chaosv1alpha1.FaultSpec
		want string
	}{
		{"member missing", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.NodeHeartbeat, Duration: d},
			"spec: Invalid value: nodeHeartbeat must be set exactly when type is NodeHeartbeat"},
		{"wrong member", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.PodKill, PodKill: &chaosv1alpha1.PodKillFault{PodName: "p"},
			ImagePull: &chaosv1alpha1.ImagePullFault{NodeName: "n"}}, "imagePull must be set exactly when type is ImagePull"},
		{"duration on kill", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.PodKill, PodKill: &chaosv1alpha1.PodKillFault{PodName: "p"}, Duration: d},
			"duration is required for NodeHeartbeat and ImagePull faults and not allowed for PodKill"},
		{"no duration", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.ImagePull, ImagePull: &chaosv1alpha1.ImagePullFault{NodeName: "n"}},
			"duration is required"},
		{"name and selector", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.PodKill, PodKill: &chaosv1alpha1.PodKillFault{PodName: "p", Selector: &metav1.LabelSelector{}}},
			"spec.podKill: Invalid value: exactly one of podName and selector must be set"},
		{"unknown type", chaosv1alpha1.FaultSpec{Type: "Meteor"},
			`spec.type: Unsupported value: "Meteor": supported values: "NodeHeartbeat", "PodKill", "ImagePull"`},
		{"empty node name", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.NodeHeartbeat, NodeHeartbeat: &chaosv1alpha1.NodeHeartbeatFault{}, Duration: d},
			"spec.nodeHeartbeat.nodeName: Invalid value: \"\": spec.nodeHeartbeat.nodeName in body should be at least 1 chars long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := e.c.Create(ctx, fault("bad", tc.spec))
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("create: %v\nwant 422 containing %q", err, tc.want)
			}
		})
	}
	// The samples are valid Faults.
	samples, err := filepath.Glob("../../config/samples/chaos_v1alpha1_fault_*.yaml")
	if err != nil || len(samples) < 3 {
		t.Fatalf("samples: %v %v", samples, err)
	}
	for _, path := range samples {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f := &chaosv1alpha1.Fault{}
		if err := yaml.UnmarshalStrict(b, f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		f.Namespace = "default"
		if err := e.c.Create(ctx, f); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
	// The spec is immutable.
	f := fault("fixed", chaosv1alpha1.FaultSpec{Type: chaosv1alpha1.PodKill, PodKill: &chaosv1alpha1.PodKillFault{PodName: "p"}})
	e.create(f)
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := e.c.Get(ctx, client.ObjectKeyFromObject(f), f); err != nil {
			return err
		}
		f.Spec.PodKill.PodName = "q"
		return e.c.Update(ctx, f)
	})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec is immutable") {
		t.Errorf("update of spec: %v, want 422 spec is immutable", err)
	}
}
