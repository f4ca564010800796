package routes_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/nodeagent/routes"
)

// TestCleanupCommands: Cleanup deletes the protocol-201 routes and the FORWARD accept rules
// of the route keeper, and nothing else.
func TestCleanupCommands(t *testing.T) {
	var ran []string
	run := func(_ context.Context, name string, args ...string) ([]byte, error) {
		cmd := name + " " + strings.Join(args, " ")
		ran = append(ran, cmd)
		switch cmd {
		case "ip -4 route show proto 201":
			return []byte("10.244.50.0/24 via 10.99.0.2 dev d0 \n10.244.60.0/24 via 10.99.0.3 dev d0 \n"), nil
		case "iptables -S FORWARD":
			return []byte("-P FORWARD DROP\n" +
				"-A FORWARD -s 10.244.50.0/24 -m comment --comment \"skiff pod network\" -j ACCEPT\n" +
				"-A FORWARD -d 10.244.50.0/24 -m comment --comment \"skiff pod network\" -j ACCEPT\n" +
				"-A FORWARD -s 172.17.0.0/16 -m comment --comment \"docker\" -j ACCEPT\n"), nil
		}
		return nil, nil
	}
	if err := routes.Cleanup(context.Background(), routes.Config{Run: run, ManageForwarding: true}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ip -4 route show proto 201",
		"ip route del 10.244.50.0/24 proto 201",
		"ip route del 10.244.60.0/24 proto 201",
		"iptables -S FORWARD",
		"iptables -D FORWARD -s 10.244.50.0/24 -m comment --comment skiff pod network -j ACCEPT",
		"iptables -D FORWARD -d 10.244.50.0/24 -m comment --comment skiff pod network -j ACCEPT",
	}
	if !reflect.DeepEqual(ran, want) {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(ran, "\n"), strings.Join(want, "\n"))
	}

	// Without ManageForwarding, iptables is left alone; a failed listing is an error.
	ran = nil
	failing := func(ctx context.Context, name string, args ...string) ([]byte, error) {
		ran = append(ran, name+" "+strings.Join(args, " "))
		return nil, fmt.Errorf("no ip")
	}
	if err := routes.Cleanup(context.Background(), routes.Config{Run: failing}); err == nil {
		t.Errorf("Cleanup with a failing ip command succeeded")
	}
	if len(ran) != 1 {
		t.Errorf("commands after a failed listing: %v", ran)
	}
}

// TestCleanupInNetns: in a network namespace, Cleanup removes Skiff's routes (protocol 201)
// and keeps the others.
func TestCleanupInNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip command")
	}
	ns := fmt.Sprintf("skiff-rtclean-%d", os.Getpid())
	ip := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	ip("link", "add", "d0", "type", "veth", "peer", "name", "d1")
	ip("link", "set", "d1", "up")
	ip("addr", "add", "10.99.0.1/24", "dev", "d0")
	ip("link", "set", "d0", "up")
	ip("route", "add", "10.244.50.0/24", "via", "10.99.0.2", "proto", routes.Protocol)
	ip("route", "add", "10.244.60.0/24", "via", "10.99.0.3", "proto", routes.Protocol)
	ip("route", "add", "10.250.0.0/24", "via", "10.99.0.4") // not Skiff's

	if err := routes.Cleanup(context.Background(), routes.Config{IPCommand: []string{"ip", "-n", ns}}); err != nil {
		t.Fatal(err)
	}
	if out := ip("-4", "route", "show", "proto", routes.Protocol); strings.TrimSpace(out) != "" {
		t.Errorf("Skiff routes left after Cleanup:\n%s", out)
	}
	if out := ip("-4", "route", "show"); !strings.Contains(out, "10.250.0.0/24 via 10.99.0.4") {
		t.Errorf("Cleanup removed a route that is not Skiff's:\n%s", out)
	}
	// A second Cleanup has nothing to do.
	if err := routes.Cleanup(context.Background(), routes.Config{IPCommand: []string{"ip", "-n", ns}}); err != nil {
		t.Errorf("second Cleanup: %v", err)
	}
}
