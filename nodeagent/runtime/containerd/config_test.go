package containerd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func baseConfig() Config {
	return Config{
		DataDir:        "/var/lib/skiff/agent",
		PodCIDR:        "10.244.1.0/24",
		SandboxImage:   "registry.k8s.io/pause:3.10",
		RegistryMirror: "127.0.0.1:5000",
	}
}

func TestRenderConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mutate  func(*Config)
		runc    string
		want    []string // lines (trimmed) that must be in the TOML
		wantErr string
	}{
		{
			name: "defaults",
			want: []string{
				`version = 2`,
				`root = "/var/lib/skiff/agent/root"`,
				`state = "/var/lib/skiff/agent/state"`,
				`address = "/var/lib/skiff/agent/containerd.sock"`,
				`address = "/var/lib/skiff/agent/containerd.sock.ttrpc"`,
				`path = "/var/lib/skiff/agent/opt"`,
				`sandbox_image = "registry.k8s.io/pause:3.10"`,
				`restrict_oom_score_adj = true`,
				`stream_server_port = "0"`,
				`default_runtime_name = "runc"`,
				`[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]`,
				`[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]`,
				// upstream e2e's preconfigured handler (RuntimeClass specs), runc as well.
				`[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.test-handler]`,
				`[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.test-handler.options]`,
				`runtime_type = "io.containerd.runc.v2"`,
				`BinaryName = "runc"`,
				`Root = "/var/lib/skiff/agent/state/runc"`,
				`SystemdCgroup = false`,
				`bin_dir = "/usr/lib/cni"`,
				`conf_dir = "/var/lib/skiff/agent/cni/net.d"`,
				`config_path = "/var/lib/skiff/agent/certs.d"`,
				`level = "info"`,
			},
		},
		{
			name: "own socket, CNI dir, runc and log level",
			mutate: func(c *Config) {
				c.SocketPath = "/run/skiff/n1.sock"
				c.CNIBinDir = "/opt/cni/bin"
				c.LogLevel = "debug"
			},
			runc: "/usr/sbin/runc",
			want: []string{
				`address = "/run/skiff/n1.sock"`,
				`bin_dir = "/opt/cni/bin"`,
				`BinaryName = "/usr/sbin/runc"`,
				`level = "debug"`,
			},
		},
		{
			name:   "quotes are escaped",
			mutate: func(c *Config) { c.DataDir = `/tmp/a"b` },
			want:   []string{`root = "/tmp/a\"b/root"`},
		},
		{name: "no data dir", mutate: func(c *Config) { c.DataDir = "" }, wantErr: "DataDir is required"},
		{name: "relative data dir", mutate: func(c *Config) { c.DataDir = "data" }, wantErr: "must be absolute"},
		{name: "bad CIDR", mutate: func(c *Config) { c.PodCIDR = "10.244.1.0" }, wantErr: "PodCIDR"},
		{name: "no sandbox image", mutate: func(c *Config) { c.SandboxImage = "" }, wantErr: "SandboxImage is required"},
		{name: "bad mirror", mutate: func(c *Config) { c.RegistryMirror = "127.0.0.1" }, wantErr: "host:port"},
		{name: "long bridge", mutate: func(c *Config) { c.BridgeName = "a-very-long-bridge" }, wantErr: "longer than 15"},
		{name: "long socket", mutate: func(c *Config) { c.DataDir = "/" + strings.Repeat("x", 100) }, wantErr: "too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := baseConfig()
			if tc.mutate != nil {
				tc.mutate(&c)
			}
			b, err := c.RenderConfig(tc.runc)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			lines := map[string]bool{}
			for _, l := range strings.Split(string(b), "\n") {
				lines[strings.TrimSpace(l)] = true
			}
			for _, w := range tc.want {
				if !lines[w] {
					t.Errorf("config.toml lacks line %q:\n%s", w, b)
				}
			}
		})
	}
}

func TestRenderCNIConfList(t *testing.T) {
	type ipam struct {
		Type    string                `json:"type"`
		Ranges  [][]map[string]string `json:"ranges"`
		Routes  []map[string]string   `json:"routes"`
		DataDir string                `json:"dataDir"`
	}
	type plugin struct {
		Type         string          `json:"type"`
		Bridge       string          `json:"bridge"`
		IsGateway    bool            `json:"isGateway"`
		IPMasq       bool            `json:"ipMasq"`
		HairpinMode  bool            `json:"hairpinMode"`
		ForceAddress bool            `json:"forceAddress"`
		IPAM         *ipam           `json:"ipam"`
		Capabilities map[string]bool `json:"capabilities"`
	}
	type conflist struct {
		CNIVersion string   `json:"cniVersion"`
		Name       string   `json:"name"`
		Plugins    []plugin `json:"plugins"`
	}
	for _, tc := range []struct {
		name        string
		mutate      func(*Config)
		bridge      string
		subnet      string
		route       string
		wantNetName string
	}{
		{name: "no node name", bridge: "skiff0", subnet: "10.244.1.0/24", route: "0.0.0.0/0"},
		{name: "node name", mutate: func(c *Config) { c.NodeName = "node-a" }, bridge: BridgeNameFor("node-a"), subnet: "10.244.1.0/24", route: "0.0.0.0/0"},
		{name: "explicit bridge", mutate: func(c *Config) { c.NodeName = "node-a"; c.BridgeName = "br-x" }, bridge: "br-x", subnet: "10.244.1.0/24", route: "0.0.0.0/0"},
		{name: "CIDR normalized", mutate: func(c *Config) { c.PodCIDR = "10.244.7.9/24" }, bridge: "skiff0", subnet: "10.244.7.0/24", route: "0.0.0.0/0"},
		{name: "IPv6", mutate: func(c *Config) { c.PodCIDR = "fd00:10:244:1::/64" }, bridge: "skiff0", subnet: "fd00:10:244:1::/64", route: "::/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := baseConfig()
			if tc.mutate != nil {
				tc.mutate(&c)
			}
			b, err := c.RenderCNIConfList()
			if err != nil {
				t.Fatal(err)
			}
			var got conflist
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("%v:\n%s", err, b)
			}
			if got.CNIVersion != "1.0.0" || got.Name != tc.bridge || len(got.Plugins) != 2 {
				t.Fatalf("conflist header/plugins wrong:\n%s", b)
			}
			br, pm := got.Plugins[0], got.Plugins[1]
			if br.Type != "bridge" || br.Bridge != tc.bridge || !br.IsGateway || !br.IPMasq || !br.HairpinMode || !br.ForceAddress {
				t.Errorf("bridge plugin %+v", br)
			}
			if br.IPAM == nil || br.IPAM.Type != "host-local" || br.IPAM.DataDir != "/var/lib/skiff/agent/cni/ipam" ||
				len(br.IPAM.Ranges) != 1 || len(br.IPAM.Ranges[0]) != 1 || br.IPAM.Ranges[0][0]["subnet"] != tc.subnet ||
				len(br.IPAM.Routes) != 1 || br.IPAM.Routes[0]["dst"] != tc.route {
				t.Errorf("ipam %+v", br.IPAM)
			}
			if pm.Type != "portmap" || !pm.Capabilities["portMappings"] {
				t.Errorf("portmap plugin %+v", pm)
			}
		})
	}
}

func TestBridgeNameFor(t *testing.T) {
	seen := map[string]string{}
	for _, n := range []string{"node-a", "node-b", "a-rather-long-node-name.example.internal", "n"} {
		b := BridgeNameFor(n)
		if len(b) > 15 || !strings.HasPrefix(b, "skiff-") {
			t.Errorf("BridgeNameFor(%q) = %q", n, b)
		}
		if BridgeNameFor(n) != b {
			t.Errorf("BridgeNameFor(%q) not stable", n)
		}
		if other, ok := seen[b]; ok {
			t.Errorf("%q and %q share bridge %q", n, other, b)
		}
		seen[b] = n
	}
	if BridgeNameFor("") != DefaultBridgeName {
		t.Errorf("empty node name: %q", BridgeNameFor(""))
	}
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	c := baseConfig()
	c.DataDir = dir
	if err := c.WriteFiles("/usr/sbin/runc"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{c.ConfigPath(), c.CNIConfPath(), filepath.Join(dir, "certs.d", "127.0.0.1:5000", "hosts.toml")} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	hosts, _ := os.ReadFile(filepath.Join(dir, "certs.d", "127.0.0.1:5000", "hosts.toml"))
	for _, want := range []string{`server = "http://127.0.0.1:5000"`, `[host."http://127.0.0.1:5000"]`, `capabilities = ["pull", "resolve", "push"]`} {
		if !strings.Contains(string(hosts), want) {
			t.Errorf("hosts.toml lacks %q:\n%s", want, hosts)
		}
	}
	// Rewriting is fine (each start rewrites), and drops the hosts of an earlier registry address.
	c.RegistryMirror = "127.0.0.1:5001"
	if err := c.WriteFiles("/usr/sbin/runc"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "certs.d", "127.0.0.1:5000")); !os.IsNotExist(err) {
		t.Errorf("hosts of the old registry address left behind: %v", err)
	}
	for _, p := range []string{"127.0.0.1:5001", "_default", "docker.io", "registry.k8s.io"} {
		if _, err := os.Stat(filepath.Join(dir, "certs.d", p, "hosts.toml")); err != nil {
			t.Error(err)
		}
	}
}

// TestHostsFiles: Skiff's registry is served over plain HTTP as itself, and is the first mirror
// (pull and resolve only) of the common registries and of _default, each falling through to its
// own server.
func TestHostsFiles(t *testing.T) {
	mirrorHost := `[host."http://127.0.0.1:5000"]
  capabilities = ["pull", "resolve"]
  skip_verify = true
`
	for _, tc := range []struct {
		path       string
		want       []string
		wantAbsent []string
	}{
		{path: "127.0.0.1:5000/hosts.toml", want: []string{`server = "http://127.0.0.1:5000"`, `[host."http://127.0.0.1:5000"]`, `capabilities = ["pull", "resolve", "push"]`, "skip_verify = true"}},
		{path: "docker.io/hosts.toml", want: []string{`server = "https://registry-1.docker.io"`, mirrorHost}},
		{path: "registry.k8s.io/hosts.toml", want: []string{`server = "https://registry.k8s.io"`, mirrorHost}},
		{path: "quay.io/hosts.toml", want: []string{`server = "https://quay.io"`, mirrorHost}},
		{path: "ghcr.io/hosts.toml", want: []string{`server = "https://ghcr.io"`, mirrorHost}},
		// _default names no server: containerd then uses https://<the image's registry>.
		{path: "_default/hosts.toml", want: []string{mirrorHost}, wantAbsent: []string{"server ="}},
	} {
		c := baseConfig()
		files := c.HostsFiles()
		got, ok := files[tc.path]
		if !ok {
			t.Errorf("no %s in %v", tc.path, keys(files))
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(string(got), w) {
				t.Errorf("%s lacks %q:\n%s", tc.path, w, got)
			}
		}
		for _, w := range tc.wantAbsent {
			if strings.Contains(string(got), w) {
				t.Errorf("%s has %q:\n%s", tc.path, w, got)
			}
		}
	}
	c := baseConfig()
	if n := len(c.HostsFiles()); n != len(MirroredRegistries)+2 {
		t.Errorf("%d hosts files, want %d", n, len(MirroredRegistries)+2)
	}
	c.RegistryMirror = ""
	if files := c.HostsFiles(); len(files) != 0 {
		t.Errorf("hosts files without a registry: %v", keys(files))
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestMissingBinariesHint(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, _, err := LookupBinaries(Config{})
	if err == nil || err.Error() != "containerd not found: run hack/install-runtime.sh" {
		t.Fatalf("error %v", err)
	}
	err = New(Config{DataDir: t.TempDir(), PodCIDR: "10.1.0.0/24", SandboxImage: "x"}).Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), InstallHint) {
		t.Fatalf("Start error %v", err)
	}
}
