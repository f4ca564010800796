package kuberuntime

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"
)

// TestSecurityContext: what charts set in pod and container security contexts reaches CRI as
// upstream's kubelet sends it: the fsGroup among the container's groups (it reads what the
// fsGroup owns in its volumes), seccomp profiles from the pod, overridden by the container.
func TestSecurityContext(t *testing.T) {
	m := NewManager(Config{ClusterDomain: "cluster.local", NodeMemoryCapacity: 8 << 30})
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{
			FSGroup: ptr.To[int64](1001), SupplementalGroups: []int64{5},
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{
			{Name: "inherits", Image: "x"},
			{Name: "own", Image: "x", SecurityContext: &corev1.SecurityContext{
				RunAsUser: ptr.To[int64](1001), RunAsNonRoot: ptr.To(true), ReadOnlyRootFilesystem: ptr.To(true),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("p.json")},
			}},
			{Name: "unconfined", Image: "x", SecurityContext: &corev1.SecurityContext{
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined},
			}},
		},
	}}
	sandbox := m.SandboxConfig(pod, 0).Linux.SecurityContext
	if !slices.Equal(sandbox.SupplementalGroups, []int64{5, 1001}) || sandbox.Seccomp.GetProfileType() != runtimeapi.SecurityProfile_RuntimeDefault {
		t.Errorf("sandbox security context %v", sandbox)
	}
	want := []*runtimeapi.SecurityProfile{
		{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault},
		{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "/var/lib/kubelet/seccomp/p.json"},
		{ProfileType: runtimeapi.SecurityProfile_Unconfined},
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		csc := m.ContainerConfig(pod, c, "x", 0, nil).Linux.SecurityContext
		if !slices.Equal(csc.SupplementalGroups, []int64{5, 1001}) {
			t.Errorf("%s: supplemental groups %v, want the pod's and its fsGroup [5 1001]", c.Name, csc.SupplementalGroups)
		}
		if got := csc.Seccomp; got.GetProfileType() != want[i].ProfileType || got.GetLocalhostRef() != want[i].LocalhostRef {
			t.Errorf("%s: seccomp %v, want %v", c.Name, got, want[i])
		}
	}
	if csc := m.ContainerConfig(pod, &pod.Spec.Containers[1], "x", 0, nil).Linux.SecurityContext; csc.RunAsUser.GetValue() != 1001 || !csc.ReadonlyRootfs {
		t.Errorf("own security context %v", csc)
	}
	if csc := m.ContainerConfig(&corev1.Pod{}, &corev1.Container{Name: "c"}, "x", 0, nil).Linux.SecurityContext; csc.Seccomp != nil || len(csc.SupplementalGroups) != 0 {
		t.Errorf("no security context: %v", csc)
	}
}

// A pod with a privileged container gets a privileged sandbox (containerd refuses the container
// otherwise: "no privileged container allowed in sandbox"); others do not.
func TestPrivilegedSandbox(t *testing.T) {
	m := NewManager(Config{ClusterDomain: "cluster.local"})
	for _, tc := range []struct {
		name string
		spec corev1.PodSpec
		want bool
	}{
		{"none", corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}, false},
		{"explicitly not", corev1.PodSpec{Containers: []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(false)}}}}, false},
		{"a container", corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}, {Name: "b", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}}}, true},
		{"an init container", corev1.PodSpec{InitContainers: []corev1.Container{{Name: "i", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}},
			Containers: []corev1.Container{{Name: "c"}}}, true},
	} {
		if got := m.SandboxConfig(&corev1.Pod{Spec: tc.spec}, 0).Linux.SecurityContext.Privileged; got != tc.want {
			t.Errorf("%s: sandbox privileged %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestSandboxCgroupParent: the sandbox's CgroupParent is the pod cgroup the agent gives.
func TestSandboxCgroupParent(t *testing.T) {
	pod := &corev1.Pod{}
	pod.UID = "u1"
	if got := NewManager(Config{}).SandboxConfig(pod, 0).Linux.CgroupParent; got != "" {
		t.Errorf("without CgroupParent: %q", got)
	}
	m := NewManager(Config{CgroupParent: func(p *corev1.Pod) string { return "/skiff/n/kubepods/besteffort/pod" + string(p.UID) }})
	if got := m.SandboxConfig(pod, 0).Linux.CgroupParent; got != "/skiff/n/kubepods/besteffort/podu1" {
		t.Errorf("CgroupParent = %q", got)
	}
}
