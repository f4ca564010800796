package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/nodeagent/join"
)

// agentProc is one `skiff agent` subprocess.
type agentProc struct {
	cmd    *exec.Cmd
	log    *bytes.Buffer
	exited chan struct{}
	err    error
}

func startAgent(t *testing.T, args ...string) *agentProc {
	t.Helper()
	a := &agentProc{cmd: exec.Command(skiffBin, append([]string{"agent"}, args...)...), log: &bytes.Buffer{}, exited: make(chan struct{})}
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.err = a.cmd.Wait(); close(a.exited) }()
	t.Cleanup(a.stop)
	return a
}

func (a *agentProc) stop() {
	select {
	case <-a.exited:
		return
	default:
	}
	a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-a.exited:
	case <-time.After(stopTimeout):
		a.cmd.Process.Kill()
		<-a.exited
	}
}

func (a *agentProc) wait(t *testing.T) (string, error) {
	t.Helper()
	select {
	case <-a.exited:
	case <-time.After(time.Minute):
		a.cmd.Process.Kill()
		<-a.exited
		t.Fatalf("agent did not exit; log:\n%s", a.log)
	}
	return a.log.String(), a.err
}

// TestJoin: `skiff token create` and `skiff agent --token` join a simulated node, which then
// runs with its own credential (system:node:n1) and no longer needs the token.
func TestJoin(t *testing.T) {
	dir := t.TempDir()
	s := startSkiffT(t, filepath.Join(dir, "server"))
	out, err := exec.Command(skiffBin, "token", "create", "--data-dir", s.dataDir, "--ttl", "1h").Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	token := strings.TrimSpace(string(out))
	if !regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`).MatchString(token) {
		t.Fatalf("token %q", token)
	}
	id := token[:6]
	secret := s.ok(t, "get", "secret", "-n", "kube-system", "bootstrap-token-"+id, "-o", "jsonpath={.type}")
	if secret != "bootstrap.kubernetes.io/token" {
		t.Errorf("secret type %q", secret)
	}
	server := s.restConfig(t).Host
	agentDir := filepath.Join(dir, "agent")

	// A wrong token is refused with a clear message.
	bad := startAgent(t, "--server", server, "--token", id+".0000000000000000", "--node-name", "n1", "--data-dir", agentDir, "--simulated")
	log, err := bad.wait(t)
	if err == nil || !strings.Contains(log, "the join token was refused by the server (401 Unauthorized): check the token and its expiry") {
		t.Fatalf("wrong token: err=%v log:\n%s", err, log)
	}

	a := startAgent(t, "--server", server, "--token", token, "--node-name", "n1", "--data-dir", agentDir, "--simulated")
	eventually(t, 60*time.Second, func() error {
		select {
		case <-a.exited:
			t.Fatalf("agent exited: %v\n%s", a.err, a.log)
		default:
		}
		r := s.kubectl(t, "get", "node", "n1", "--no-headers")
		if r.err != nil || len(fields(r.stdout)) < 2 || fields(r.stdout)[1] != "Ready" {
			return fmt.Errorf("node n1: %v", r)
		}
		return nil
	})
	// Two requests: the node's client certificate (with the token), then its kubelet-serving
	// certificate (with that client certificate), each approved and issued.
	eventually(t, 60*time.Second, func() error {
		// Sorted by signer: both may be created within the same second.
		_, rows := tableRows(t, s.ok(t, "get", "csr", "--sort-by", ".spec.signerName"))
		if len(rows) != 2 ||
			rows[0][2] != "kubernetes.io/kube-apiserver-client-kubelet" || rows[0][3] != "system:bootstrap:"+id || rows[0][5] != "Approved,Issued" ||
			rows[1][2] != "kubernetes.io/kubelet-serving" || rows[1][3] != "system:node:n1" || rows[1][5] != "Approved,Issued" {
			return fmt.Errorf("csr rows %q", rows)
		}
		return nil
	})
	kc := filepath.Join(agentDir, "agent.kubeconfig")
	who, err := exec.Command("kubectl", "--kubeconfig", kc, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}").CombinedOutput()
	if err != nil || string(who) != "system:node:n1" {
		t.Fatalf("whoami with the agent's kubeconfig: %q %v", who, err)
	}

	// Restarted with the token deleted, the agent reuses its credential.
	a.stop()
	s.ok(t, "delete", "secret", "-n", "kube-system", "bootstrap-token-"+id)
	restarted := time.Now()
	again := startAgent(t, "--server", server, "--node-name", "n1", "--data-dir", agentDir, "--simulated")
	// Running on its credential, it renews its Lease.
	eventually(t, 30*time.Second, func() error {
		select {
		case <-again.exited:
			t.Fatalf("agent without token exited: %v\n%s", again.err, again.log)
		default:
		}
		r := s.kubectl(t, "get", "lease", "-n", "kube-node-lease", "n1", "-o", "jsonpath={.spec.renewTime}")
		renewed, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(r.stdout))
		if r.err != nil || err != nil || !renewed.After(restarted) {
			return fmt.Errorf("lease of n1 renewed at %q (%v), not since the restart at %v", r.stdout, r.err, restarted)
		}
		return nil
	})
	if strings.Contains(again.log.String(), "refused") {
		t.Fatalf("agent log:\n%s", again.log)
	}
	eventually(t, 30*time.Second, func() error {
		r := s.kubectl(t, "get", "node", "n1", "--no-headers")
		if r.err != nil || fields(r.stdout)[1] != "Ready" {
			return fmt.Errorf("node n1: %v", r)
		}
		return nil
	})
	// ... and the serving certificate it kept (join.ServingFile): no third request.
	if _, err := os.Stat(filepath.Join(agentDir, join.ServingFile)); err != nil {
		t.Errorf("kept serving certificate: %v", err)
	}
	if _, rows := tableRows(t, s.ok(t, "get", "csr")); len(rows) != 2 {
		t.Errorf("certificate signing requests after the restart: %q", rows)
	}
}
