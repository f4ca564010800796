package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// twoNodes is `skiff up` with its local node and a second node joined with a token (a real
// `skiff agent` mirroring the server's registry), both Ready.
type twoNodes struct {
	s        *skiff
	dataDir  string
	registry string
	agent    *agentProc
	agentDir string
}

// startTwoNodes starts `skiff up --node-name=local` (plus extra flags) and joins the agent
// `joined`. When the test ends: its cleanups registered later first (delete your pods there:
// containers outlive containerd), then the agent and the server stop, then both nodes' service
// proxy rules go.
func startTwoNodes(t *testing.T, local, joined string, extra ...string) *twoNodes {
	t.Helper()
	t.Cleanup(func() {
		for _, n := range []string{local, joined} {
			if out, err := exec.Command(skiffBin, "agent", "--cleanup", "--node-name", n).CombinedOutput(); err != nil {
				t.Errorf("skiff agent --cleanup --node-name %s: %v\n%s", n, err, out)
			}
		}
	})
	tn := &twoNodes{dataDir: t.TempDir(), agentDir: t.TempDir()}
	tn.s = startSkiffT(t, tn.dataDir, append([]string{"--agent=true", "--node-name=" + local, "--node-port=0",
		"--images-src", moduleRoot()}, extra...)...)
	eventually(t, 90*time.Second, func() error {
		_, err := os.Stat(filepath.Join(tn.dataDir, "registry.addr"))
		return err
	})
	addr, err := os.ReadFile(filepath.Join(tn.dataDir, "registry.addr"))
	if err != nil {
		t.Fatal(err)
	}
	tn.registry = strings.TrimSpace(string(addr))
	token := strings.Fields(runSkiff(t, "token", "create", "--data-dir", tn.dataDir))[0]
	server := tn.s.ok(t, "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")
	tn.agent = startAgent(t, "--server", server, "--token", token, "--node-name="+joined,
		"--data-dir", tn.agentDir, "--node-port=0", "--registry", tn.registry)
	for _, n := range []string{local, joined} {
		eventually(t, 120*time.Second, func() error {
			out := tn.s.kubectl(t, "get", "node", n, "--no-headers")
			if out.err != nil || !strings.Contains(out.stdout, " Ready ") {
				return fmt.Errorf("node %s not Ready: %s%s\nagent log tail: %s", n, out.stdout, out.stderr, tailOf(tn.agent.log.String(), 1500))
			}
			return nil
		})
	}
	return tn
}
