package images

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// DockerHub is the registry of names without one ("nginx" is docker.io/library/nginx), as
// Docker and containerd normalize them.
const DockerHub = "docker.io"

// Name is a normalized image name: docker.io/library/nginx:1.27 for "nginx:1.27".
type Name struct {
	Registry   string // docker.io, registry.k8s.io, 127.0.0.1:5000, ...
	Repository string // library/nginx
	Tag        string // 1.27; "latest" when neither tag nor digest is given
	Digest     string // sha256:...; set instead of (or with) the tag
}

// Repo is registry/repository, the name's repository in Skiff's registry.
func (n Name) Repo() string { return n.Registry + "/" + n.Repository }

// String is the full reference: registry/repository:tag, or @digest.
func (n Name) String() string {
	s := n.Repo()
	if n.Tag != "" {
		s += ":" + n.Tag
	}
	if n.Digest != "" {
		s += "@" + n.Digest
	}
	return s
}

// Reference is the tag or digest part.
func (n Name) Reference() string {
	if n.Digest != "" {
		return n.Digest
	}
	return n.Tag
}

// isDomain reports whether the first component of a name is a registry host, as Docker decides:
// it has a dot or a port, or is localhost.
func isDomain(component string) bool {
	return strings.ContainsAny(component, ".:") || component == "localhost"
}

// normalizeRepo splits a repository path ("nginx", "quay.io/x/y") into registry and repository,
// as Docker does: no registry means docker.io, and docker.io's one-component names are under
// library/.
func normalizeRepo(path string) (registry, repo string) {
	registry, repo = DockerHub, path
	if first, rest, found := strings.Cut(path, "/"); found && isDomain(first) {
		registry, repo = first, rest
	}
	if registry == "index.docker.io" || registry == "registry-1.docker.io" {
		registry = DockerHub
	}
	if registry == DockerHub && !strings.Contains(repo, "/") {
		repo = "library/" + repo
	}
	return registry, repo
}

// ParseName normalizes an image name as Docker does: "nginx:1.27" is
// docker.io/library/nginx:1.27, "quay.io/x/y" is quay.io/x/y:latest. Bad names get an error that
// says why.
func ParseName(s string) (Name, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Name{}, fmt.Errorf("empty image name")
	}
	rest, digest, hasDigest := strings.Cut(s, "@")
	tag := ""
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		rest, tag = rest[:i], rest[i+1:]
	}
	if tag == "" && !hasDigest {
		tag = "latest"
	}
	registry, repo := normalizeRepo(rest)
	n := Name{Registry: registry, Repository: repo, Tag: tag, Digest: digest}
	// go-containerregistry checks each part's syntax (lower case, allowed characters, digest form).
	if _, err := name.ParseReference(n.String(), name.StrictValidation); err != nil {
		if hasDigest && tag != "" {
			// name:tag@digest is valid for Docker, not for go-containerregistry: check each half.
			_, err1 := name.NewTag(n.Repo()+":"+tag, name.StrictValidation)
			_, err2 := name.NewDigest(n.Repo()+"@"+digest, name.StrictValidation)
			if err1 == nil && err2 == nil {
				return n, nil
			}
		}
		return Name{}, fmt.Errorf("invalid image name %q: %w", s, err)
	}
	return n, nil
}
