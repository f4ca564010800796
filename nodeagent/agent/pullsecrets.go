package agent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff-dev/skiff/nodeagent/volumes"
)

type dockerAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// imageRegistry is the registry host of an image reference (docker.io for short names).
func imageRegistry(image string) string {
	first, _, ok := strings.Cut(image, "/")
	if !ok || !(strings.ContainsAny(first, ".:") || first == "localhost") {
		return "docker.io"
	}
	return first
}

// normalizeRegistry strips the scheme and path of a docker config key and folds Docker Hub's
// names together.
func normalizeRegistry(key string) string {
	key = strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	key, _, _ = strings.Cut(key, "/")
	switch key {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return "docker.io"
	}
	return key
}

// ImageAuth returns the credentials a kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg
// Secret holds for the image's registry (nil: none), as the kubelet's image pull secrets.
func ImageAuth(s *corev1.Secret, image string) *runtimeapi.AuthConfig {
	var auths map[string]dockerAuth
	switch s.Type {
	case corev1.SecretTypeDockerConfigJson:
		var cfg struct {
			Auths map[string]dockerAuth `json:"auths"`
		}
		if json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg) != nil {
			return nil
		}
		auths = cfg.Auths
	case corev1.SecretTypeDockercfg:
		if json.Unmarshal(s.Data[corev1.DockerConfigKey], &auths) != nil {
			return nil
		}
	default:
		return nil
	}
	want := imageRegistry(image)
	for key, a := range auths {
		if normalizeRegistry(key) != want {
			continue
		}
		out := &runtimeapi.AuthConfig{Username: a.Username, Password: a.Password, Auth: a.Auth,
			ServerAddress: key, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
		if a.Auth != "" && out.Username == "" {
			if b, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
				if u, p, ok := strings.Cut(string(b), ":"); ok {
					out.Username, out.Password = u, p
				}
			}
		}
		return out
	}
	return nil
}

// pullSecrets gives kuberuntime the auth of the pod's imagePullSecrets for an image.
func (a *Agent) pullSecrets(pod *corev1.Pod, image string) *runtimeapi.AuthConfig {
	for _, ref := range pod.Spec.ImagePullSecrets {
		s, err := volumes.GetSecret(context.Background(), a.cfg.Client, pod.Namespace, ref.Name)
		if err != nil {
			continue
		}
		if auth := ImageAuth(s, image); auth != nil {
			return auth
		}
	}
	return nil
}
