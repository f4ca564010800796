package routes_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/nodeagent/routes"
	"github.com/skiff-dev/skiff/test/poll"
)

func node(name, ip, cidr string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDR: cidr}}
	if cidr != "" {
		n.Spec.PodCIDRs = []string{cidr}
	}
	if ip != "" {
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}
	}
	return n
}

func TestDesired(t *testing.T) {
	local := []net.IP{net.ParseIP("10.0.0.1"), net.ParseIP("127.0.0.1")}
	cases := []struct {
		name  string
		nodes []*corev1.Node
		want  []routes.Route
	}{
		{"self is skipped", []*corev1.Node{node("me", "10.0.0.9", "10.244.1.0/24")}, nil},
		{"other machine", []*corev1.Node{node("b", "10.0.0.2", "10.244.2.0/24")}, []routes.Route{{CIDR: "10.244.2.0/24", Via: "10.0.0.2"}}},
		{"same machine needs no route", []*corev1.Node{node("c", "10.0.0.1", "10.244.3.0/24")}, nil},
		{"no podCIDR", []*corev1.Node{node("d", "10.0.0.4", "")}, nil},
		{"no InternalIP", []*corev1.Node{node("e", "", "10.244.5.0/24")}, nil},
		{"bad CIDR", []*corev1.Node{node("f", "10.0.0.6", "nonsense")}, nil},
		{"sorted, canonical", []*corev1.Node{node("h", "10.0.0.8", "10.244.9.7/24"), node("g", "10.0.0.7", "10.244.7.0/24")},
			[]routes.Route{{CIDR: "10.244.7.0/24", Via: "10.0.0.7"}, {CIDR: "10.244.9.0/24", Via: "10.0.0.8"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := routes.Desired("me", tc.nodes, local); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRoutesInNetns runs the route keeper against the real API server and a network namespace:
// a node on "another machine" gets a route, a change of its address moves it, and its deletion
// removes it.
func TestRoutesInNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip command")
	}
	ns := fmt.Sprintf("skiff-routes-%d", os.Getpid())
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	run("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	run("-n", ns, "link", "add", "d0", "type", "veth", "peer", "name", "d1")
	run("-n", ns, "link", "set", "d1", "up")
	run("-n", ns, "addr", "add", "10.99.0.1/24", "dev", "d0")
	run("-n", ns, "link", "set", "d0", "up")

	api := apiservertest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := api.Client
	for _, n := range []*corev1.Node{node("me", "10.99.0.1", "10.244.40.0/24"), node("other", "10.99.0.2", "10.244.50.0/24")} {
		created, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: n.ObjectMeta, Spec: n.Spec}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		created.Status = n.Status
		if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := routes.New(routes.Config{Client: c, NodeName: "me", IPCommand: []string{"ip", "-n", ns},
		LocalAddrs: func() ([]net.IP, error) { return []net.IP{net.ParseIP("10.99.0.1")}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx) }()
	wait := func(what string, want map[string]string) {
		t.Helper()
		poll.Until(t, 15*time.Second, what, func() error {
			cur, err := r.Current(ctx)
			if err == nil && !reflect.DeepEqual(cur, want) {
				err = fmt.Errorf("routes %v, want %v", cur, want)
			}
			return err
		})
	}
	wait("route to the other node", map[string]string{"10.244.50.0/24": "10.99.0.2"})

	other, _ := c.CoreV1().Nodes().Get(ctx, "other", metav1.GetOptions{})
	other.Status.Addresses[0].Address = "10.99.0.3"
	if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, other, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("route follows the address", map[string]string{"10.244.50.0/24": "10.99.0.3"})

	if err := c.CoreV1().Nodes().Delete(ctx, "other", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("route removed with its node", map[string]string{})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("route keeper did not stop")
	}
}
