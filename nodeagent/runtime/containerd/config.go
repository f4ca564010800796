// Package containerd runs a containerd of Skiff's own for one node agent: it writes its
// config.toml (two runc runtimes, the handlers RuntimeClasses can name (RuntimeHandlers): "runc",
// the default, and "test-handler", upstream e2e's preconfigured one; a CNI bridge network for the
// node's pod subnet, the pause image, and registry hosts under certs.d: Skiff's registry, over
// plain HTTP, is the first mirror of every registry, so that a pod naming nginx:1.27 runs the
// image imported under that name, and the real registry comes next when it can be reached),
// starts containerd with its root, state and socket under the agent's data dir, so that several
// agents on one machine do not clash, and waits until it answers CRI. The bridge is named after
// the node (BridgeNameFor): pods outlive containerd, so a node of the same name on another data
// dir finds the earlier one's pods on its bridge; package podnet sweeps them when the node starts.
package containerd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
)

// DefaultCNIBinDir is where Debian's containernetworking-plugins puts the CNI plugins.
const DefaultCNIBinDir = "/usr/lib/cni"

// DefaultBridgeName is the bridge of the node when no node name is given.
const DefaultBridgeName = "skiff0"

// Config describes one node's containerd.
type Config struct {
	// DataDir holds everything of this containerd: config, root, state, logs, CNI config and
	// IPAM state. Required.
	DataDir string
	// SocketPath is the CRI/containerd gRPC socket; default <DataDir>/containerd.sock.
	SocketPath string
	// NodeName names the node; it picks the bridge and CNI network names.
	NodeName string
	// PodCIDR is the node's pod subnet, e.g. 10.244.0.0/24. Required.
	PodCIDR string
	// SandboxImage is the pause image, e.g. registry.k8s.io/pause:3.10. Required; it must
	// be pullable (from RegistryMirror) or already imported.
	SandboxImage string
	// RegistryMirror is host:port of Skiff's registry, served over plain HTTP, e.g.
	// 127.0.0.1:5000: containerd pulls from it directly and tries it first for every other
	// registry (it asks for /v2/<repo>/...?ns=<registry>). Optional.
	RegistryMirror string
	// CNIBinDir holds the CNI plugins; default DefaultCNIBinDir.
	CNIBinDir string
	// BridgeName is the Linux bridge of the pod network; default derived from NodeName
	// (DefaultBridgeName without one). At most 15 characters.
	BridgeName string
	// ContainerdBin and RuncBin override the binaries; default: looked up on the PATH.
	ContainerdBin string
	RuncBin       string
	// LogLevel of containerd (default "info").
	LogLevel string
}

// BridgeNameFor derives a bridge name unique per node name that fits Linux's 15-character limit.
func BridgeNameFor(nodeName string) string {
	if nodeName == "" {
		return DefaultBridgeName
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(nodeName))
	return fmt.Sprintf("skiff-%08x", h.Sum32())
}

// NetworkName is the CNI network name of the node (also the host-local IPAM's key).
func (c *Config) NetworkName() string {
	return c.bridge()
}

func (c *Config) bridge() string {
	if c.BridgeName != "" {
		return c.BridgeName
	}
	return BridgeNameFor(c.NodeName)
}

// Paths of the files and directories under the data dir.
func (c *Config) ConfigPath() string  { return filepath.Join(c.DataDir, "config.toml") }
func (c *Config) RootDir() string     { return filepath.Join(c.DataDir, "root") }
func (c *Config) StateDir() string    { return filepath.Join(c.DataDir, "state") }
func (c *Config) LogPath() string     { return filepath.Join(c.DataDir, "containerd.log") }
func (c *Config) CNIConfDir() string  { return filepath.Join(c.DataDir, "cni", "net.d") }
func (c *Config) IPAMDataDir() string { return filepath.Join(c.DataDir, "cni", "ipam") }
func (c *Config) HostsDir() string    { return filepath.Join(c.DataDir, "certs.d") }
func (c *Config) Socket() string      { return c.socket() }
func (c *Config) Endpoint() string    { return "unix://" + c.socket() }
func (c *Config) CNIConfPath() string { return filepath.Join(c.CNIConfDir(), "10-skiff.conflist") }
func (c *Config) Bridge() string      { return c.bridge() }
func (c *Config) cniBinDir() string   { return or(c.CNIBinDir, DefaultCNIBinDir) }
func (c *Config) logLevel() string    { return or(c.LogLevel, "info") }
func (c *Config) socket() string {
	return or(c.SocketPath, filepath.Join(c.DataDir, "containerd.sock"))
}

// IPAMStore is the host-local store of the node's network: one file per allocated address.
func (c *Config) IPAMStore() string { return filepath.Join(c.IPAMDataDir(), c.NetworkName()) }

func (c *Config) runcRoot() string      { return filepath.Join(c.StateDir(), "runc") }
func (c *Config) optDir() string        { return filepath.Join(c.DataDir, "opt") }
func (c *Config) ttrpcSocket() string   { return c.socket() + ".ttrpc" }
func (c *Config) streamAddress() string { return "127.0.0.1" }

// Validate checks the required fields.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return fmt.Errorf("containerd config: DataDir is required")
	}
	if !filepath.IsAbs(c.DataDir) {
		return fmt.Errorf("containerd config: DataDir %q must be absolute", c.DataDir)
	}
	if _, _, err := net.ParseCIDR(c.PodCIDR); err != nil {
		return fmt.Errorf("containerd config: PodCIDR %q: %v", c.PodCIDR, err)
	}
	if c.SandboxImage == "" {
		return fmt.Errorf("containerd config: SandboxImage is required")
	}
	if b := c.bridge(); len(b) > 15 {
		return fmt.Errorf("containerd config: bridge name %q longer than 15 characters", b)
	}
	if c.RegistryMirror != "" {
		if _, _, err := net.SplitHostPort(c.RegistryMirror); err != nil {
			return fmt.Errorf("containerd config: RegistryMirror %q must be host:port: %v", c.RegistryMirror, err)
		}
	}
	// A unix socket path is limited to 107 bytes.
	if len(c.socket()) > 100 {
		return fmt.Errorf("containerd config: socket path %q is too long for a unix socket", c.socket())
	}
	return nil
}

// RuntimeHandlers are the CRI runtime handlers (containerd runtimes) a node offers to
// RuntimeClasses, all runc: "runc", the default, and "test-handler", the handler upstream's
// e2e suite expects nodes to have preconfigured (its RuntimeClass specs run pods with it).
// RunPodSandbox with any other handler fails ("no runtime for ... is configured").
var RuntimeHandlers = []string{"runc", "test-handler"}

var configTemplate = template.Must(template.New("config.toml").Funcs(template.FuncMap{"q": strconv.Quote}).Parse(
	`# Written by Skiff: a containerd of its own for node {{q .NodeName}}. Do not edit: rewritten at each start.
version = 2
root = {{q .Root}}
state = {{q .State}}
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = {{q .Socket}}

[ttrpc]
  address = {{q .TTRPCSocket}}

[debug]
  level = {{q .LogLevel}}

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = {{q .OptDir}}

  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = {{q .SandboxImage}}
    # The host lacks CAP_SYS_RESOURCE: without this, sandbox start fails with
    # "can't get final child's PID".
    restrict_oom_score_adj = true
    stream_server_address = {{q .StreamAddress}}
    stream_server_port = "0"
    enable_selinux = false
    disable_apparmor = true
    enable_unprivileged_ports = true
    enable_unprivileged_icmp = true
    max_container_log_line_size = 16384

    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      discard_unpacked_layers = false
{{- range .RuntimeHandlers}}

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{{.}}]
        runtime_type = "io.containerd.runc.v2"

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{{.}}.options]
          BinaryName = {{q $.RuncBin}}
          Root = {{q $.RuncRoot}}
          SystemdCgroup = false
{{- end}}

    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = {{q .CNIBinDir}}
      conf_dir = {{q .CNIConfDir}}
      max_conf_num = 1

    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = {{q .HostsDir}}
`))

// RenderConfig returns the config.toml for c. runcBin is the runc binary's path ("" for "runc").
func (c *Config) RenderConfig(runcBin string) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err := configTemplate.Execute(&b, map[string]any{
		"RuntimeHandlers": RuntimeHandlers,
		"NodeName":        c.NodeName,
		"Root":            c.RootDir(),
		"State":           c.StateDir(),
		"Socket":          c.socket(),
		"TTRPCSocket":     c.ttrpcSocket(),
		"LogLevel":        c.logLevel(),
		"OptDir":          c.optDir(),
		"SandboxImage":    c.SandboxImage,
		"StreamAddress":   c.streamAddress(),
		"RuncBin":         or(runcBin, "runc"),
		"RuncRoot":        c.runcRoot(),
		"CNIBinDir":       c.cniBinDir(),
		"CNIConfDir":      c.CNIConfDir(),
		"HostsDir":        c.HostsDir(),
	})
	return b.Bytes(), err
}

// MirroredRegistries get a hosts.toml of their own (the others use _default's): the registries
// charts name most, with the server their images come from when Skiff's registry lacks them.
var MirroredRegistries = map[string]string{
	"docker.io":       "https://registry-1.docker.io",
	"registry.k8s.io": "https://registry.k8s.io",
	"quay.io":         "https://quay.io",
	"ghcr.io":         "https://ghcr.io",
	"gcr.io":          "https://gcr.io",
}

// HostsFiles returns the registry hosts configuration (containerd's config_path) by path under
// HostsDir: for RegistryMirror itself, plain HTTP; for each of MirroredRegistries and
// _default (every other registry), RegistryMirror first, then the registry's own server.
// Without RegistryMirror there is none.
func (c *Config) HostsFiles() map[string][]byte {
	if c.RegistryMirror == "" {
		return nil
	}
	mirror := "http://" + c.RegistryMirror
	files := map[string][]byte{
		filepath.Join(hostsDirName(c.RegistryMirror), "hosts.toml"): []byte(fmt.Sprintf(`# Written by Skiff: its registry, served over plain HTTP.
server = %s

[host.%s]
  capabilities = ["pull", "resolve", "push"]
  skip_verify = true
`, strconv.Quote(mirror), strconv.Quote(mirror))),
	}
	mirrorHost := fmt.Sprintf(`
# Skiff's registry first: images imported with skiff image import, under their own names.
[host.%s]
  capabilities = ["pull", "resolve"]
  skip_verify = true
`, strconv.Quote(mirror))
	for registry, server := range MirroredRegistries {
		files[filepath.Join(registry, "hosts.toml")] = []byte(fmt.Sprintf("# Written by Skiff: pulls of %s.\nserver = %s\n%s",
			registry, strconv.Quote(server), mirrorHost))
	}
	// No server: containerd falls back to https://<the image's registry> (http for localhost).
	files[filepath.Join("_default", "hosts.toml")] = []byte("# Written by Skiff: pulls from any other registry.\n" + mirrorHost)
	return files
}

// RenderCNIConfList returns the node's CNI network: a bridge with host-local IPAM over PodCIDR
// (the bridge is the pods' gateway, traffic leaving the node is masqueraded) and portmap for
// hostPort.
func (c *Config) RenderCNIConfList() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	_, subnet, _ := net.ParseCIDR(c.PodCIDR)
	defaultRoute := "0.0.0.0/0"
	if subnet.IP.To4() == nil {
		defaultRoute = "::/0"
	}
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       c.NetworkName(),
		"plugins": []any{
			map[string]any{
				"type":        "bridge",
				"bridge":      c.bridge(),
				"isGateway":   true,
				"ipMasq":      true,
				"hairpinMode": true,
				// A bridge left behind by an earlier run with another subnet gets its gateway
				// address replaced instead of failing every pod.
				"forceAddress": true,
				"ipam": map[string]any{
					"type":    "host-local",
					"ranges":  [][]map[string]string{{{"subnet": subnet.String()}}},
					"routes":  []map[string]string{{"dst": defaultRoute}},
					"dataDir": c.IPAMDataDir(),
				},
			},
			map[string]any{
				"type":         "portmap",
				"capabilities": map[string]bool{"portMappings": true},
			},
		},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteFiles writes config.toml, the CNI conflist and the registry hosts.toml under the data
// dir, and creates the directories containerd needs.
func (c *Config) WriteFiles(runcBin string) error {
	cfg, err := c.RenderConfig(runcBin)
	if err != nil {
		return err
	}
	cni, err := c.RenderCNIConfList()
	if err != nil {
		return err
	}
	for _, d := range []string{c.DataDir, c.RootDir(), c.StateDir(), c.CNIConfDir(), c.IPAMDataDir(), c.HostsDir(), c.optDir(), filepath.Dir(c.socket())} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	files := map[string][]byte{c.ConfigPath(): cfg, c.CNIConfPath(): cni}
	// The hosts of an earlier start (another registry address) go.
	if err := os.RemoveAll(c.HostsDir()); err != nil {
		return err
	}
	for rel, b := range c.HostsFiles() {
		p := filepath.Join(c.HostsDir(), rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		files[p] = b
	}
	if err := os.MkdirAll(c.HostsDir(), 0o700); err != nil {
		return err
	}
	for p, b := range files {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// hostsDirName is the directory name containerd looks up for a registry host: host:port as is
// ("_default" is for every host).
func hostsDirName(hostPort string) string {
	return strings.TrimSpace(hostPort)
}
