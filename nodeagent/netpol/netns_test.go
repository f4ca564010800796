package netpol

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiff-dev/skiff/nodeagent/internal/netnstest"
	"github.com/skiff-dev/skiff/nodeagent/nftrules"
	"github.com/skiff-dev/skiff/test/poll"
)

// Addresses of the netns test, all inside the test's namespaces: the node's bridge and its
// pods (192.0.2.0/24, the node's pod CIDR) and an off-node client routed through the node
// (198.51.100.0/24).
const (
	bridgeIP  = "192.0.2.1"
	serverIP  = "192.0.2.10"
	clientIP  = "192.0.2.11"
	otherIP   = "192.0.2.12"
	nodeOuter = "198.51.100.1"
	remoteIP  = "198.51.100.2"
)

// bridgePort puts pod on the node's bridge br0 with address addr (/24) and a default route
// through the bridge's address.
func bridgePort(t *testing.T, node, pod *netnstest.Netns, addr string) {
	t.Helper()
	tmp := "snp" + netnstest.RandSuffix()
	netnstest.Run(t, "ip", "link", "add", tmp, "type", "veth", "peer", "name", tmp+"p")
	netnstest.Run(t, "ip", "link", "set", tmp, "netns", node.Name)
	netnstest.Run(t, "ip", "link", "set", tmp+"p", "netns", pod.Name, "name", "eth0")
	netnstest.Run(t, "ip", "-n", node.Name, "link", "set", tmp, "master", "br0", "up")
	netnstest.Run(t, "ip", "-n", pod.Name, "addr", "add", addr+"/24", "dev", "eth0")
	netnstest.Run(t, "ip", "-n", pod.Name, "link", "set", "eth0", "up")
	netnstest.Run(t, "ip", "-n", pod.Name, "route", "add", "default", "via", bridgeIP)
}

// TestRealNFTables runs the enforcer on real nftables in a network namespace (the node) with
// three pods on its bridge and a client routed through it: policies are enforced on bridged
// and routed traffic, replies of admitted connections pass, a pod and its node always reach
// each other, and Cleanup opens everything again.
func TestRealNFTables(t *testing.T) {
	netnstest.Require(t)
	node := netnstest.New(t, "snp-node")
	server := netnstest.New(t, "snp-srv")
	client := netnstest.New(t, "snp-cli")
	other := netnstest.New(t, "snp-oth")
	remote := netnstest.New(t, "snp-rem")
	netnstest.Run(t, "ip", "-n", node.Name, "link", "add", "br0", "type", "bridge")
	netnstest.Run(t, "ip", "-n", node.Name, "addr", "add", bridgeIP+"/24", "dev", "br0")
	netnstest.Run(t, "ip", "-n", node.Name, "link", "set", "br0", "up")
	bridgePort(t, node, server, serverIP)
	bridgePort(t, node, client, clientIP)
	bridgePort(t, node, other, otherIP)
	netnstest.Veth(t, node, "vrem", nodeOuter+"/24", remote, "eth0", remoteIP+"/24")
	netnstest.Run(t, "ip", "-n", remote.Name, "route", "add", "default", "via", nodeOuter)
	netnstest.Run(t, "ip", "netns", "exec", node.Name, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	// Bridged traffic reaches the ip forward hook only through br_netfilter (what
	// Config.ConfigureHost loads on a real node); its sysctl is per network namespace.
	if _, err := os.Stat("/proc/sys/net/bridge/bridge-nf-call-iptables"); err != nil {
		_ = exec.Command("modprobe", "br_netfilter").Run()
	}
	if out, err := exec.Command("ip", "netns", "exec", node.Name, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1").CombinedOutput(); err != nil {
		t.Skipf("no br_netfilter: %v: %s", err, out)
	}
	for _, s := range []struct {
		ns   *netnstest.Netns
		addr string
	}{{server, serverIP}, {client, clientIP}, {other, otherIP}, {remote, remoteIP}} {
		netnstest.Serve(t, s.ns, s.addr+":8080", s.ns.Name)
	}

	pod := func(name, ip string, lbls map[string]string) *corev1.Pod {
		p := testPod("default", name, "node-a", ip, lbls, corev1.ContainerPort{Name: "http", ContainerPort: 8080})
		return p
	}
	c := fake.NewSimpleClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default", Labels: map[string]string{corev1.LabelMetadataName: "default"}}},
		pod("server", serverIP, map[string]string{"app": "server"}),
		pod("client", clientIP, map[string]string{"role": "client"}),
		pod("other", otherIP, nil))
	const table = "skiff-netpol-test"
	nft := netnstest.NFT(t, node, table)
	t.Cleanup(func() { _ = nftrules.DeleteTable(context.Background(), nft) })
	e, err := New(Config{Client: c, NodeName: "node-a", PodCIDRs: []string{"192.0.2.0/24"}, TableName: table, NFTables: nft,
		MinSyncInterval: 10 * time.Millisecond, CleanupOnExit: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Start(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("enforcer: %v", err)
			}
		}
	}
	t.Cleanup(stop)

	// reaches checks one HTTP request from ns to addr:8080: it must answer (open) or time out
	// (dropped).
	reaches := func(from *netnstest.Netns, to *netnstest.Netns, addr string, open bool) func() error {
		return func() error {
			body, err := netnstest.Get(from, addr+":8080", 400*time.Millisecond)
			switch {
			case open && err != nil:
				return fmt.Errorf("%s -> %s: %w", from.Name, addr, err)
			case open && body != to.Name:
				return fmt.Errorf("%s -> %s: answered %q", from.Name, addr, body)
			case !open && err == nil:
				return fmt.Errorf("%s -> %s: still open", from.Name, addr)
			case !open && !errors.Is(err, os.ErrDeadlineExceeded) && !strings.Contains(err.Error(), "timeout"):
				return fmt.Errorf("%s -> %s: %w, want a timeout (dropped)", from.Name, addr, err)
			}
			return nil
		}
	}
	expect := func(what string, from, to *netnstest.Netns, addr string, open bool) {
		t.Helper()
		poll.Until(t, 10*time.Second, what, reaches(from, to, addr, open))
	}
	create := func(np *networkingv1.NetworkPolicy) {
		t.Helper()
		if _, err := c.NetworkingV1().NetworkPolicies("default").Create(context.Background(), np, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("open without policies", func(t *testing.T) {
		expect("bridged client to server", client, server, serverIP, true)
		expect("routed client to server", remote, server, serverIP, true)
		expect("server to the remote client", server, remote, remoteIP, true)
	})
	t.Run("default deny ingress", func(t *testing.T) {
		create(policy("default", "deny", map[string]string{"app": "server"}, ingressOnly, nil))
		expect("bridged client to server denied", client, server, serverIP, false)
		expect("bridged other to server denied", other, server, serverIP, false)
		expect("routed client to server denied", remote, server, serverIP, false)
		expect("the server's own connections (egress) open", server, client, clientIP, true)
		expect("the server's connections off the node open", server, remote, remoteIP, true)
		expect("other pods open", other, client, clientIP, true)
		// The node itself reaches its pods (probes): output is never filtered.
		if _, err := netnstest.Get(node, serverIP+":8080", 2*time.Second); err != nil {
			t.Errorf("node to server: %v", err)
		}
	})
	t.Run("allow from role=client", func(t *testing.T) {
		create(policy("default", "allow-clients", map[string]string{"app": "server"}, ingressOnly,
			allowFrom(nil, podPeer(map[string]string{"role": "client"}))))
		expect("client to server admitted", client, server, serverIP, true)
		expect("other to server still denied", other, server, serverIP, false)
		expect("remote to server still denied", remote, server, serverIP, false)
	})
	t.Run("default deny egress of the client", func(t *testing.T) {
		create(policy("default", "client-egress", map[string]string{"role": "client"}, egressOnly, nil))
		expect("client to server denied by the client's egress", client, server, serverIP, false)
		expect("client to remote denied", client, remote, remoteIP, false)
		// The client still answers (its ingress is open; replies are established traffic).
		expect("other to client open", other, client, clientIP, true)
		// Traffic to its own node always passes (nothing listens there: refused, not dropped).
		if _, err := netnstest.Get(client, bridgeIP+":1", 2*time.Second); !netnstest.IsRefused(err) {
			t.Errorf("client to its node: %v, want refused by the node (never dropped)", err)
		}
	})
	t.Run("cleanup opens everything", func(t *testing.T) {
		stop()
		expect("client to server", client, server, serverIP, true)
		expect("remote to server", remote, server, serverIP, true)
		if out, err := exec.Command("nsenter", "--net="+node.Path, "nft", "list", "table", "ip", table).CombinedOutput(); err == nil {
			t.Errorf("table left after cleanup:\n%s", out)
		}
	})
}
