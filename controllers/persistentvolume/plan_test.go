package persistentvolume

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apis/helper"
)

func claim(name, class, size string, mod ...func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name)},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:  corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
			VolumeMode: ptr.To(corev1.PersistentVolumeFilesystem)},
	}
	if class != "-" {
		c.Spec.StorageClassName = ptr.To(class)
	}
	for _, m := range mod {
		m(c)
	}
	return c
}

func volume(name, class, size string, mod ...func(*corev1.PersistentVolume)) *corev1.PersistentVolume {
	v := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			StorageClassName:              class,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			VolumeMode:                    ptr.To(corev1.PersistentVolumeFilesystem),
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + name}}},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable},
	}
	for _, m := range mod {
		m(v)
	}
	return v
}

func class(name, provisioner string, mode storagev1.VolumeBindingMode, isDefault bool) *storagev1.StorageClass {
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: provisioner, VolumeBindingMode: &mode}
	if isDefault {
		sc.Annotations = map[string]string{helper.AnnDefaultStorageClass: "true"}
	}
	return sc
}

func newState(volumes []*corev1.PersistentVolume, classes ...*storagev1.StorageClass) *state {
	s := &state{Volumes: volumes}
	s.Volume = func(name string) *corev1.PersistentVolume {
		for _, v := range volumes {
			if v.Name == name {
				return v
			}
		}
		return nil
	}
	s.Class = func(name string) *storagev1.StorageClass {
		for _, c := range classes {
			if c.Name == name {
				return c
			}
		}
		return nil
	}
	for _, c := range classes {
		if helper.IsDefaultStorageClass(c) {
			s.DefaultClass = c
		}
	}
	return s
}

func boundTo(c *corev1.PersistentVolumeClaim) func(*corev1.PersistentVolume) {
	return func(v *corev1.PersistentVolume) {
		v.Spec.ClaimRef = &corev1.ObjectReference{Namespace: c.Namespace, Name: c.Name, UID: c.UID}
	}
}

func TestPlanClaim(t *testing.T) {
	local := class("local-path", helper.LocalPathProvisioner, storagev1.VolumeBindingWaitForFirstConsumer, true)
	immediate := class("fast", helper.LocalPathProvisioner, storagev1.VolumeBindingImmediate, false)
	manual := class("manual", helper.NoProvisioner, storagev1.VolumeBindingWaitForFirstConsumer, false)
	selected := func(c *corev1.PersistentVolumeClaim) {
		c.Annotations = map[string]string{helper.AnnSelectedNode: "node-1"}
	}
	completed := func(volumeName string) func(*corev1.PersistentVolumeClaim) {
		return func(c *corev1.PersistentVolumeClaim) {
			c.Annotations = map[string]string{helper.AnnBindCompleted: "yes"}
			c.Spec.VolumeName = volumeName
		}
	}
	other := claim("other", "", "1Gi")
	for _, tc := range []struct {
		name   string
		claim  *corev1.PersistentVolumeClaim
		state  *state
		bind   string
		phase  corev1.PersistentVolumeClaimPhase
		reason string
		msg    string
		prov   string
		node   bool
		assign string
		err    bool
	}{
		{name: "smallest matching volume of the class", claim: claim("a", "", "1Gi"),
			state: newState([]*corev1.PersistentVolume{volume("big", "", "10Gi"), volume("small", "", "2Gi"), volume("tiny", "", "500Mi"), volume("other-class", "x", "1Gi")}),
			bind:  "small"},
		{name: "no class no volume", claim: claim("a", "", "1Gi"), state: newState(nil),
			phase: corev1.ClaimPending, reason: reasonFailedBinding, msg: msgNoClassNoVolume},
		{name: "unknown class", claim: claim("a", "gold", "1Gi"), state: newState(nil),
			phase: corev1.ClaimPending, reason: reasonProvisioningFailed, msg: `storageclass.storage.k8s.io "gold" not found`},
		{name: "wait for first consumer", claim: claim("a", "local-path", "1Gi"), state: newState(nil, local),
			phase: corev1.ClaimPending, reason: reasonWaitForFirstConsumer, msg: msgWaitForFirstConsumer},
		{name: "wait for pod scheduled", claim: claim("a", "local-path", "1Gi"),
			state: func() *state { s := newState(nil, local); s.UnscheduledPods = []string{"p"}; return s }(),
			phase: corev1.ClaimPending, reason: reasonWaitForPodScheduled, msg: "waiting for pod p to be scheduled"},
		{name: "selected node: provision", claim: claim("a", "local-path", "1Gi", selected), state: newState(nil, local),
			phase: corev1.ClaimPending, reason: reasonExternalProvisioning, prov: helper.LocalPathProvisioner},
		{name: "immediate local-path: pick a node", claim: claim("a", "fast", "1Gi"), state: newState(nil, immediate),
			phase: corev1.ClaimPending, reason: reasonExternalProvisioning, prov: helper.LocalPathProvisioner, node: true},
		{name: "no-provisioner class without volumes", claim: claim("a", "manual", "1Gi", selected), state: newState(nil, manual),
			phase: corev1.ClaimPending, reason: reasonProvisioningFailed},
		{name: "delay binding skips free volumes", claim: claim("a", "manual", "1Gi"),
			state: newState([]*corev1.PersistentVolume{volume("v", "manual", "1Gi")}, manual),
			phase: corev1.ClaimPending, reason: reasonWaitForFirstConsumer},
		{name: "delay binding takes a volume bound to it", claim: claim("a", "manual", "1Gi"),
			state: newState([]*corev1.PersistentVolume{volume("v", "manual", "1Gi", boundTo(claim("a", "manual", "1Gi")))}, manual),
			bind:  "v"},
		{name: "retroactive default class", claim: claim("a", "-", "1Gi"), state: newState(nil, local), assign: "local-path"},
		{name: "empty class gets no default", claim: claim("a", "", "1Gi"), state: newState(nil, local),
			phase: corev1.ClaimPending, reason: reasonFailedBinding},
		{name: "requested volume missing", claim: claim("a", "", "1Gi", func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "v" }),
			state: newState(nil), phase: corev1.ClaimPending},
		{name: "requested volume too small", claim: claim("a", "", "5Gi", func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "v" }),
			state: newState([]*corev1.PersistentVolume{volume("v", "", "1Gi")}),
			phase: corev1.ClaimPending, reason: reasonVolumeMismatch, msg: `Cannot bind to requested volume "v": requested PV is too small`},
		{name: "requested volume bound elsewhere", claim: claim("a", "", "1Gi", func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "v" }),
			state: newState([]*corev1.PersistentVolume{volume("v", "", "1Gi", boundTo(other))}),
			phase: corev1.ClaimPending, reason: reasonFailedBinding, msg: `volume "v" already bound to a different claim.`},
		{name: "requested volume bound elsewhere by the controller", claim: claim("a", "", "1Gi", func(c *corev1.PersistentVolumeClaim) {
			c.Spec.VolumeName = "v"
			c.Annotations = map[string]string{helper.AnnBoundByController: "yes"}
		}), state: newState([]*corev1.PersistentVolume{volume("v", "", "1Gi", boundTo(other))}), reason: reasonFailedBinding, err: true},
		{name: "requested volume free", claim: claim("a", "", "1Gi", func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "v" }),
			state: newState([]*corev1.PersistentVolume{volume("v", "", "1Gi")}), bind: "v"},
		{name: "bound claim lost its reference", claim: claim("a", "", "1Gi", completed("")), state: newState(nil),
			phase: corev1.ClaimLost, reason: reasonClaimLost, msg: msgClaimLostReference},
		{name: "bound claim lost its volume", claim: claim("a", "", "1Gi", completed("v")), state: newState(nil),
			phase: corev1.ClaimLost, reason: reasonClaimLost, msg: msgClaimLostVolume},
		{name: "bound claim, volume bound elsewhere", claim: claim("a", "", "1Gi", completed("v")),
			state: newState([]*corev1.PersistentVolume{volume("v", "", "1Gi", boundTo(other))}),
			phase: corev1.ClaimLost, reason: reasonClaimMisbound},
		{name: "bound claim, all well", claim: claim("a", "", "1Gi", completed("v")),
			state: newState([]*corev1.PersistentVolume{volume("v", "", "1Gi", boundTo(claim("a", "", "1Gi")))}), bind: "v"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := planClaim(tc.claim, tc.state)
			if got := ""; p.Bind != nil {
				got = p.Bind.Name
				if got != tc.bind {
					t.Errorf("bind %q, want %q", got, tc.bind)
				}
			} else if tc.bind != "" {
				t.Errorf("no bind, want %q", tc.bind)
			}
			if p.Phase != tc.phase {
				t.Errorf("phase %q, want %q", p.Phase, tc.phase)
			}
			ev := p.Event
			if ev == nil {
				ev = p.PhaseEvent
			}
			switch {
			case tc.reason == "" && ev != nil:
				t.Errorf("event %+v, want none", ev)
			case tc.reason != "" && (ev == nil || ev.Reason != tc.reason || !strings.Contains(ev.Message, tc.msg)):
				t.Errorf("event %+v, want %s %q", ev, tc.reason, tc.msg)
			}
			if p.Provisioner != tc.prov || p.SelectNode != tc.node || p.AssignClass != tc.assign || (p.Err != nil) != tc.err {
				t.Errorf("plan %+v", p)
			}
		})
	}
}

func TestPlanVolume(t *testing.T) {
	c := claim("a", "", "1Gi")
	boundClaim := claim("a", "", "1Gi", func(cl *corev1.PersistentVolumeClaim) { cl.Spec.VolumeName = "v" })
	elsewhere := claim("a", "", "1Gi", func(cl *corev1.PersistentVolumeClaim) { cl.Spec.VolumeName = "w" })
	withPolicy := func(p corev1.PersistentVolumeReclaimPolicy) func(*corev1.PersistentVolume) {
		return func(v *corev1.PersistentVolume) { v.Spec.PersistentVolumeReclaimPolicy = p }
	}
	provisioned := func(v *corev1.PersistentVolume) {
		v.Annotations = map[string]string{helper.AnnDynamicallyProvisioned: helper.LocalPathProvisioner}
	}
	byController := func(v *corev1.PersistentVolume) {
		v.Annotations = map[string]string{helper.AnnBoundByController: "yes"}
	}
	for _, tc := range []struct {
		name   string
		volume *corev1.PersistentVolume
		claim  *corev1.PersistentVolumeClaim
		phase  corev1.PersistentVolumePhase
		reason string
		unbind bool
	}{
		{name: "free", volume: volume("v", "", "1Gi"), phase: corev1.VolumeAvailable},
		{name: "pre-bound", volume: volume("v", "", "1Gi", func(v *corev1.PersistentVolume) {
			v.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "ns", Name: "a"}
		}), phase: corev1.VolumeAvailable},
		{name: "bound", volume: volume("v", "", "1Gi", boundTo(c)), claim: boundClaim, phase: corev1.VolumeBound},
		{name: "claim pending: its sync finishes", volume: volume("v", "", "1Gi", boundTo(c)), claim: c},
		{name: "released, retained", volume: volume("v", "", "1Gi", boundTo(c)), phase: corev1.VolumeReleased},
		{name: "released, provisioned, deleted by its provisioner", volume: volume("v", "", "1Gi", boundTo(c), withPolicy(corev1.PersistentVolumeReclaimDelete), provisioned),
			phase: corev1.VolumeReleased},
		{name: "released, hand-made, delete fails", volume: volume("v", "", "1Gi", boundTo(c), withPolicy(corev1.PersistentVolumeReclaimDelete)),
			phase: corev1.VolumeFailed, reason: reasonVolumeFailedDelete},
		{name: "released, recycle fails", volume: volume("v", "", "1Gi", boundTo(c), withPolicy(corev1.PersistentVolumeReclaimRecycle)),
			phase: corev1.VolumeFailed, reason: reasonVolumeFailedRecycle},
		{name: "claim bound elsewhere, provisioned", volume: volume("v", "", "1Gi", boundTo(c), withPolicy(corev1.PersistentVolumeReclaimDelete), provisioned),
			claim: elsewhere, phase: corev1.VolumeReleased},
		{name: "claim bound elsewhere, bound by controller", volume: volume("v", "", "1Gi", boundTo(c), byController), claim: elsewhere, unbind: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := planVolume(tc.volume, tc.claim)
			if p.Phase != tc.phase || p.Unbind != tc.unbind {
				t.Errorf("plan %+v, want phase %q unbind %v", p, tc.phase, tc.unbind)
			}
			if got := ""; p.PhaseEvent != nil {
				got = p.PhaseEvent.Reason
				if got != tc.reason {
					t.Errorf("event %q, want %q", got, tc.reason)
				}
			} else if tc.reason != "" {
				t.Errorf("no event, want %q", tc.reason)
			}
		})
	}
}

func TestPlanExpansion(t *testing.T) {
	bound := func(request, capacity string) *corev1.PersistentVolumeClaim {
		return claim("a", "local-path", request, func(c *corev1.PersistentVolumeClaim) {
			c.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(capacity)}}
		})
	}
	local := func(size string) *corev1.PersistentVolume {
		return volume("v", "local-path", size, func(v *corev1.PersistentVolume) {
			v.Annotations = map[string]string{helper.AnnDynamicallyProvisioned: helper.LocalPathProvisioner}
		})
	}
	for _, tc := range []struct {
		name   string
		claim  *corev1.PersistentVolumeClaim
		volume *corev1.PersistentVolume
		want   expansionStep
	}{
		{"same size", bound("1Gi", "1Gi"), local("1Gi"), expandNothing},
		{"grow the volume", bound("2Gi", "1Gi"), local("1Gi"), expandVolume},
		{"then the claim", bound("2Gi", "1Gi"), local("2Gi"), expandClaim},
		{"not local-path", bound("2Gi", "1Gi"), volume("v", "x", "1Gi"), expandExternal},
		{"not bound", claim("a", "x", "2Gi"), local("1Gi"), expandNothing},
	} {
		if got, _ := planExpansion(tc.claim, tc.volume); got != tc.want {
			t.Errorf("%s: step %v, want %v", tc.name, got, tc.want)
		}
	}
}
