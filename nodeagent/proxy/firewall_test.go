package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/nodeagent/nftrules"
	"github.com/skiff-dev/skiff/test/poll"
)

// dialFrom sends one HTTP/1.0 request from ns, from source address src, to addr and returns
// the body (bounded by timeout).
func dialFrom(ns *netnsEnv, src, addr string, timeout time.Duration) (string, error) {
	var body string
	var derr error
	err := inNetns(ns, func() {
		d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		conn, err := d.Dial("tcp", addr)
		if err != nil {
			derr = err
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(timeout))
		if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\nHost: x\r\n\r\n"); err != nil {
			derr = err
			return
		}
		b, err := io.ReadAll(conn)
		if err != nil {
			derr = err
			return
		}
		_, body, _ = strings.Cut(string(b), "\r\n\r\n")
	})
	if err != nil {
		return "", err
	}
	return body, derr
}

// TestLoadBalancerSourceRangesReal: with real nftables in a network namespace, a client
// address inside spec.loadBalancerSourceRanges reaches the LoadBalancer IP, one outside does
// not (dropped), the NodePort stays open to both, the node itself reaches the LB IP it has as a
// local address (its source is then the LB IP: admitted as a range holds the node IP), and
// removing the ranges opens the LB IP.
func TestLoadBalancerSourceRangesReal(t *testing.T) {
	requireNetns(t)
	const (
		allowed = "198.51.100.2"
		denied  = "198.51.100.3"
		lbIP    = "203.0.113.50"
	)
	node := newNetns(t, "skp-node")
	pod := newNetns(t, "skp-pod")
	client := newNetns(t, "skp-cli")
	veth(t, node, "vpod", nodePodSide+"/24", pod, "eth0", podIP+"/24")
	veth(t, node, "vcli", nodeOuterSide+"/24", client, "eth0", allowed+"/24")
	run(t, "ip", "-n", client.Name, "addr", "add", denied+"/24", "dev", "eth0")
	run(t, "ip", "-n", pod.Name, "route", "add", "default", "via", nodePodSide)
	run(t, "ip", "-n", client.Name, "route", "add", "default", "via", nodeOuterSide)
	run(t, "ip", "netns", "exec", node.Name, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	serveIn(t, pod, podIP+":8080", "pod-a")

	c := apiservertest.Start(t).Client
	const table = "skiff-proxy-fwtest"
	nft := nftIn(t, node, table)
	t.Cleanup(func() { _ = nftrules.DeleteTable(context.Background(), nft) })
	startProxier(t, Config{NodeName: "node-a", Client: c, PodCIDRs: []string{"192.0.2.0/24"}, TableName: table,
		NFTables: nft, NodeIPs: []string{nodeOuterSide}})

	createService(t, c, "web", webIP, func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeLoadBalancer
		s.Spec.Ports[0].NodePort = 30080
		s.Spec.LoadBalancerSourceRanges = []string{allowed + "/32", nodeOuterSide + "/32"}
	})
	ctx := context.Background()
	svc, err := c.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: lbIP}}
	if _, err := c.CoreV1().Services("default").UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	createSlice(t, c, "web", []int32{8080})

	answers := func(src, addr string) func() error {
		return func() error {
			body, err := dialFrom(client, src, addr, time.Second)
			if err != nil {
				return err
			}
			if body != "pod-a" {
				return errors.New("answered " + body)
			}
			return nil
		}
	}
	lb := lbIP + ":80"
	poll.Until(t, 10*time.Second, "LB IP from an allowed source", answers(allowed, lb))
	if body, err := dialFrom(client, denied, lb, 500*time.Millisecond); err == nil {
		t.Errorf("LB IP from a source outside loadBalancerSourceRanges answered %q, want no answer", body)
	}
	poll.Until(t, 2*time.Second, "NodePort from a source outside the ranges (not restricted)", answers(denied, nodeOuterSide+":30080"))

	// The node has the LB IP as a local address (as VIP-style load balancers set up): its own
	// requests to it come from the LB IP.
	run(t, "ip", "-n", node.Name, "addr", "add", lbIP+"/32", "dev", "lo")
	poll.Until(t, 2*time.Second, "LB IP from the node itself", func() error {
		body, err := dialFrom(node, lbIP, lb, time.Second)
		if err != nil {
			return err
		}
		if body != "pod-a" {
			return errors.New("answered " + body)
		}
		return nil
	})

	// The ranges go: every source reaches the LB IP.
	svc, err = c.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.LoadBalancerSourceRanges = nil
	if _, err := c.CoreV1().Services("default").Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "LB IP from any source once the ranges are removed", answers(denied, lb))
}
