package agent

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff-dev/skiff/nodeagent/kuberuntime"
	"github.com/skiff-dev/skiff/nodeagent/volumes"
)

// EnvSources is what environment resolution reads from the cluster. ConfigMap and Secret
// return volumes.NotFound errors for missing objects.
type EnvSources interface {
	ConfigMap(namespace, name string) (*corev1.ConfigMap, error)
	Secret(namespace, name string) (*corev1.Secret, error)
	// Services returns the services whose variables the pod sees: those of its namespace
	// when enableServiceLinks, and default/kubernetes always.
	Services(pod *corev1.Pod) ([]*corev1.Service, error)
}

// EnvInput is the runtime facts environment resolution needs besides the pod.
type EnvInput struct {
	PodIPs, HostIPs []string
	NodeAllocatable corev1.ResourceList
}

// MakeEnvironment is upstream's makeEnvironmentVariables: envFrom, then env (values expanded
// with $(VAR) against what came before and the service variables, valueFrom resolved), then
// the service variables not overridden. Errors are upstream's (`configmap "x" not found`,
// `couldn't find key k in ConfigMap ns/x`).
func MakeEnvironment(pod *corev1.Pod, c *corev1.Container, in EnvInput, src EnvSources) ([]*runtimeapi.KeyValue, error) {
	var order []string
	vals := map[string]string{}
	put := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	svcEnv := map[string]string{}
	if src != nil {
		svcs, err := src.Services(pod)
		if err != nil {
			return nil, err
		}
		svcEnv = ServiceEnv(svcs)
	}

	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			optional := ef.ConfigMapRef.Optional != nil && *ef.ConfigMapRef.Optional
			cm, err := src.ConfigMap(pod.Namespace, ef.ConfigMapRef.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && optional {
					continue
				}
				return nil, err
			}
			keys := sortedKeys(cm.Data)
			for _, k := range keys {
				if !validEnvName(ef.Prefix + k) {
					continue
				}
				put(ef.Prefix+k, cm.Data[k])
			}
		case ef.SecretRef != nil:
			optional := ef.SecretRef.Optional != nil && *ef.SecretRef.Optional
			s, err := src.Secret(pod.Namespace, ef.SecretRef.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && optional {
					continue
				}
				return nil, err
			}
			keys := make([]string, 0, len(s.Data))
			for k := range s.Data {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if !validEnvName(ef.Prefix + k) {
					continue
				}
				put(ef.Prefix+k, string(s.Data[k]))
			}
		}
	}

	for _, e := range c.Env {
		if e.ValueFrom == nil {
			mapping := map[string]string{}
			for k, v := range svcEnv {
				mapping[k] = v
			}
			for k, v := range vals {
				mapping[k] = v
			}
			put(e.Name, kuberuntime.Expand(e.Value, mapping))
			continue
		}
		vf := e.ValueFrom
		switch {
		case vf.FieldRef != nil:
			v, err := podFieldValue(pod, vf.FieldRef.FieldPath, in)
			if err != nil {
				return nil, err
			}
			put(e.Name, v)
		case vf.ResourceFieldRef != nil:
			ref := vf.ResourceFieldRef.DeepCopy()
			var v string
			var err error
			if ref.ContainerName == "" {
				v, err = volumes.ContainerResourceValue(c, ref, in.NodeAllocatable)
			} else {
				v, err = volumes.ResourceFieldValue(pod, ref, in.NodeAllocatable)
			}
			if err != nil {
				return nil, err
			}
			put(e.Name, v)
		case vf.ConfigMapKeyRef != nil:
			ref := vf.ConfigMapKeyRef
			optional := ref.Optional != nil && *ref.Optional
			cm, err := src.ConfigMap(pod.Namespace, ref.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && optional {
					continue
				}
				return nil, err
			}
			v, ok := cm.Data[ref.Key]
			if !ok {
				if optional {
					continue
				}
				return nil, fmt.Errorf("couldn't find key %v in ConfigMap %v/%v", ref.Key, pod.Namespace, ref.Name)
			}
			put(e.Name, v)
		case vf.SecretKeyRef != nil:
			ref := vf.SecretKeyRef
			optional := ref.Optional != nil && *ref.Optional
			s, err := src.Secret(pod.Namespace, ref.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && optional {
					continue
				}
				return nil, err
			}
			v, ok := s.Data[ref.Key]
			if !ok {
				if optional {
					continue
				}
				return nil, fmt.Errorf("couldn't find key %v in Secret %v/%v", ref.Key, pod.Namespace, ref.Name)
			}
			put(e.Name, string(v))
		}
	}

	for _, k := range sortedKeys(svcEnv) {
		if _, ok := vals[k]; !ok {
			put(k, svcEnv[k])
		}
	}
	out := make([]*runtimeapi.KeyValue, 0, len(order))
	for _, k := range order {
		out = append(out, &runtimeapi.KeyValue{Key: k, Value: []byte(vals[k])})
	}
	return out, nil
}

// podFieldValue is upstream's podFieldSelectorRuntimeValue.
func podFieldValue(pod *corev1.Pod, path string, in EnvInput) (string, error) {
	switch path {
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP":
		if len(in.HostIPs) > 0 {
			return in.HostIPs[0], nil
		}
		return "", nil
	case "status.hostIPs":
		return strings.Join(in.HostIPs, ","), nil
	case "status.podIP":
		if len(in.PodIPs) > 0 {
			return in.PodIPs[0], nil
		}
		return "", nil
	case "status.podIPs":
		return strings.Join(in.PodIPs, ","), nil
	}
	return volumes.FieldPathValue(pod, path)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ServiceEnv is upstream's envvars.FromServices: the Docker-links style variables of each
// service with a cluster IP.
func ServiceEnv(svcs []*corev1.Service) map[string]string {
	out := map[string]string{}
	for _, s := range svcs {
		ip := s.Spec.ClusterIP
		if ip == "" || ip == corev1.ClusterIPNone || len(s.Spec.Ports) == 0 {
			continue
		}
		name := strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
		out[name+"_SERVICE_HOST"] = ip
		out[name+"_SERVICE_PORT"] = strconv.Itoa(int(s.Spec.Ports[0].Port))
		for _, p := range s.Spec.Ports {
			if p.Name != "" {
				out[name+"_SERVICE_PORT_"+strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_"))] = strconv.Itoa(int(p.Port))
			}
		}
		first := s.Spec.Ports[0]
		proto := strings.ToLower(string(first.Protocol))
		if proto == "" {
			proto = "tcp"
		}
		host := ip
		if strings.Contains(ip, ":") {
			host = "[" + ip + "]"
		}
		out[name+"_PORT"] = fmt.Sprintf("%s://%s:%d", proto, host, first.Port)
		for _, p := range s.Spec.Ports {
			pr := string(p.Protocol)
			if pr == "" {
				pr = "TCP"
			}
			prefix := fmt.Sprintf("%s_PORT_%d_%s", name, p.Port, strings.ToUpper(pr))
			out[prefix] = fmt.Sprintf("%s://%s:%d", strings.ToLower(pr), host, p.Port)
			out[prefix+"_PROTO"] = strings.ToLower(pr)
			out[prefix+"_PORT"] = strconv.Itoa(int(p.Port))
			out[prefix+"_ADDR"] = ip
		}
	}
	return out
}

// validEnvName is upstream's relaxed environment variable name rule (GA since 1.34):
// printable ASCII without '='.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < 32 || r > 126 || r == '=' {
			return false
		}
	}
	return true
}

// ExpandSubPaths is upstream's ExpandContainerVolumeMounts for every mount of c: a
// subPathExpr's $(VAR) become the container's environment variables, and the result is the
// mount's subPath in the copy of c returned; a variable undefined or empty fails with
// "missing value for VAR" (the mount's subPath rules apply to the result afterwards).
func ExpandSubPaths(c *corev1.Container, envs []*runtimeapi.KeyValue) (*corev1.Container, error) {
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.SubPathExpr != "" }) {
		return c, nil
	}
	env := make(map[string]string, len(envs))
	for _, kv := range envs {
		env[kv.Key] = string(kv.Value)
	}
	out := c.DeepCopy()
	for i := range out.VolumeMounts {
		m := &out.VolumeMounts[i]
		if m.SubPathExpr == "" {
			continue
		}
		var missing []string
		m.SubPath = kuberuntime.ExpandFunc(m.SubPathExpr, func(name string) (string, bool) {
			if env[name] == "" && !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
			return env[name], true
		})
		if len(missing) > 0 {
			slices.Sort(missing)
			return nil, fmt.Errorf("missing value for %s", strings.Join(missing, ", "))
		}
		m.SubPathExpr = ""
	}
	return out, nil
}
