package agent

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestAdmitPorts(t *testing.T) {
	withPort := func(uid string, port int32, ip string, proto corev1.Protocol) *corev1.Pod {
		p := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c",
			Ports: []corev1.ContainerPort{{ContainerPort: 80, HostPort: port, HostIP: ip, Protocol: proto}}}}}}
		p.UID = types.UID(uid)
		return p
	}
	finished := withPort("done", 21017, "", "")
	finished.Status.Phase = corev1.PodSucceeded
	for _, tc := range []struct {
		name    string
		pod     *corev1.Pod
		running []*corev1.Pod
		want    bool
	}{
		{"no host ports", &corev1.Pod{}, []*corev1.Pod{withPort("a", 21017, "", "")}, true},
		{"free", withPort("new", 21017, "", ""), []*corev1.Pod{withPort("a", 21018, "", "")}, true},
		{"taken", withPort("new", 21017, "", ""), []*corev1.Pod{withPort("a", 21017, "", "")}, false},
		{"taken on the wildcard address", withPort("new", 21017, "10.0.0.1", ""), []*corev1.Pod{withPort("a", 21017, "0.0.0.0", "")}, false},
		{"other address", withPort("new", 21017, "10.0.0.1", ""), []*corev1.Pod{withPort("a", 21017, "10.0.0.2", "")}, true},
		{"other protocol", withPort("new", 21017, "", corev1.ProtocolUDP), []*corev1.Pod{withPort("a", 21017, "", "")}, true},
		{"held by a finished pod", withPort("new", 21017, "", ""), []*corev1.Pod{finished}, true},
		{"itself", withPort("new", 21017, "", ""), []*corev1.Pod{withPort("new", 21017, "", "")}, true},
	} {
		if got := admitPorts(tc.pod, tc.running); got != tc.want {
			t.Errorf("%s: admitPorts = %v, want %v", tc.name, got, tc.want)
		}
	}
}
