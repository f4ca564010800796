package kuberuntime

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-dev/skiff/apis/defaults"
	"github.com/skiff-dev/skiff/nodeagent/status"
)

// FuzzPodSpecToCRI builds the CRI sandbox and container configs, the container hash and the
// pod actions of arbitrary (defaulted, not validated) pods: none of it may panic.
func FuzzPodSpecToCRI(f *testing.F) {
	f.Add([]byte(`{"metadata":{"name":"p","namespace":"d","uid":"u"},"spec":{"containers":[{"name":"c","image":"i","command":["sh","-c","echo $(A) $$(B) $("],"env":[{"name":"A","value":"x"}],"resources":{"limits":{"cpu":"100m","memory":"1Gi"},"requests":{"cpu":"1m"}},"securityContext":{"runAsUser":0,"capabilities":{"add":["NET_ADMIN"]}}}]}}`))
	f.Add([]byte(`{"metadata":{"name":"h"},"spec":{"hostNetwork":true,"hostPID":true,"hostname":"` + string(make([]byte, 70)) + `","subdomain":"s","initContainers":[{"name":"i","restartPolicy":"Always"}],"containers":[{"name":"c","ports":[{"containerPort":80,"hostPort":8080,"protocol":"SCTP"}],"resources":{"limits":{"cpu":"9223372036854775807","memory":"-1"}}}],"securityContext":{"supplementalGroups":[1,2]}}}`))
	f.Add([]byte(`{"spec":{"containers":[{"resources":{"requests":{"cpu":"1e-9","memory":"1Ei"}}}],"overhead":{"cpu":"1"}},"status":{"phase":"Running"}}`))
	m := NewManager(Config{ClusterDomain: "cluster.local", NodeMemoryCapacity: 8 << 30})
	f.Fuzz(func(t *testing.T, data []byte) {
		var pod corev1.Pod
		if err := json.Unmarshal(data, &pod); err != nil {
			return
		}
		defaults.Default(&pod)
		_ = m.SandboxConfig(&pod, 1)
		for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
			for i := range cs {
				c := &cs[i]
				_ = m.ContainerConfig(&pod, c, "sha256:abc", 2, nil)
				_ = HashContainer(c)
				_ = OOMScoreAdj(&pod, c, 0)
			}
		}
		_ = ComputePodActions(&pod, &status.Runtime{RuntimeName: "containerd"}, nil, nil)
	})
}
