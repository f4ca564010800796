package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
)

func TestKubeconfigPath(t *testing.T) {
	exists := func(p string) bool { return p == "/var/lib/skiff/kubeconfig" }
	for _, tt := range []struct {
		name, flag, env, dataDir, want string
	}{
		{"the flag first", "/k/flag", "/k/env", "/var/lib/skiff", "/k/flag"},
		{"then $KUBECONFIG, through kubectl's rules", "", "/k/env", "/var/lib/skiff", ""},
		{"then the data dir's admin kubeconfig", "", "", "/var/lib/skiff", "/var/lib/skiff/kubeconfig"},
		{"a data dir without one: kubectl's rules", "", "", "/elsewhere", ""},
		{"no data dir: kubectl's rules", "", "", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := kubeconfigPath(tt.flag, tt.env, tt.dataDir, exists); got != tt.want {
				t.Errorf("kubeconfigPath(%q, %q, %q) = %q, want %q", tt.flag, tt.env, tt.dataDir, got, tt.want)
			}
		})
	}
}

// TestClusterFlags loads real files in the order kubeconfigPath decides, with --context and the
// namespace, through the flags every insight command registers.
func TestClusterFlags(t *testing.T) {
	dir := t.TempDir()
	write := func(name, server string) string {
		p := filepath.Join(dir, name)
		cfg := `apiVersion: v1
kind: Config
clusters:
- {name: c, cluster: {server: "` + server + `"}}
- {name: other, cluster: {server: "` + server + `/other"}}
users: [{name: u, user: {token: t}}]
contexts:
- {name: main, context: {cluster: c, user: u}}
- {name: side, context: {cluster: other, user: u, namespace: side-ns}}
current-context: main
`
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flagFile := write("flag.yaml", "https://flag.example:6443")
	envFile := write("env.yaml", "https://env.example:6443")
	write("data/kubeconfig", "https://data-dir.example:6443")
	for _, tt := range []struct {
		name      string
		env       string
		args      []string
		host, ns  string
		namespace bool
	}{
		{"--kubeconfig", envFile, []string{"--kubeconfig", flagFile, "--data-dir", dir + "/data"}, "https://flag.example:6443", "default", true},
		{"$KUBECONFIG", envFile, []string{"--data-dir", dir + "/data"}, "https://env.example:6443", "default", true},
		{"the data dir's", "", []string{"--data-dir", dir + "/data"}, "https://data-dir.example:6443", "default", true},
		{"--context and its namespace", "", []string{"--data-dir", dir + "/data", "--context", "side"}, "https://data-dir.example:6443/other", "side-ns", true},
		{"-n wins over the context's", "", []string{"--data-dir", dir + "/data", "--context", "side", "-n", "mine"}, "https://data-dir.example:6443/other", "mine", true},
		{"a command without namespaces (skiff ui)", envFile, []string{"--context", "side"}, "https://env.example:6443/other", "side-ns", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tt.env)
			var f clusterFlags
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			f.add(fs, tt.namespace)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			cfg, ns, err := f.clientConfig()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Host != tt.host || ns != tt.ns {
				t.Errorf("host %s namespace %s, want %s %s", cfg.Host, ns, tt.host, tt.ns)
			}
		})
	}
}

// TestInsightCommandsShareTheFlags: trace, why, history and ui take the same cluster flags.
func TestInsightCommandsShareTheFlags(t *testing.T) {
	for _, cmd := range []interface {
		Name() string
		Flags() *pflag.FlagSet
	}{newTraceCommand(), newWhyCommand(), newHistoryCommand(), newUICommand()} {
		for _, name := range []string{"kubeconfig", "context", "data-dir"} {
			if cmd.Flags().Lookup(name) == nil {
				t.Errorf("skiff %s has no --%s", cmd.Name(), name)
			}
		}
	}
}
