package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// svcGet is one bounded HTTP GET to a Skiff address with a fresh connection (so the service
// proxy picks an endpoint anew), returning the trimmed body.
func svcGet(url string, timeout time.Duration) (string, error) {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", url, resp.Status)
	}
	return strings.TrimSpace(string(b)), nil
}

// svcHits sends n requests and counts the answers (pod names); errors are counted under "error".
func svcHits(url string, n int) map[string]int {
	hits := map[string]int{}
	for i := 0; i < n; i++ {
		name, err := svcGet(url, 2*time.Second)
		if err != nil {
			name = "error"
		}
		hits[name]++
	}
	return hits
}

func sortedKeys(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestServices is issue 5 end to end with real containers on two nodes (the second joined with a
// token): a ClusterIP Service over a 3-replica Deployment of skiff-http reached from the host
// and from a pod, cluster DNS (service, headless), NodePort, LoadBalancer, pods on the two nodes
// reaching each other, and scaling down taking the removed pods out of rotation within 1 s.
// The cluster uses its own service range (10.150.0.0/16) so its ClusterIPs cannot meet those of
// other clusters running on this machine at the same time.
func TestServices(t *testing.T) {
	dir := t.TempDir()
	// Last, once both nodes are gone: their service proxy rules (skiff agent --cleanup).
	t.Cleanup(func() {
		for _, n := range []string{"svc-n1", "svc-n2"} {
			if out, err := exec.Command(skiffBin, "agent", "--cleanup", "--node-name", n).CombinedOutput(); err != nil {
				t.Errorf("skiff agent --cleanup --node-name %s: %v\n%s", n, err, out)
			}
		}
	})
	s := startSkiffT(t, dir, "--agent=true", "--node-name=svc-n1", "--node-port=0",
		"--pod-cidr=10.244.230.0/24", "--images-src", moduleRoot(),
		"--service-cluster-ip-range=10.150.0.0/16") // the node's --cluster-dns follows: 10.150.0.10
	eventually(t, 90*time.Second, func() error {
		_, err := os.Stat(filepath.Join(dir, "registry.addr"))
		return err
	})
	addr, err := os.ReadFile(filepath.Join(dir, "registry.addr"))
	if err != nil {
		t.Fatal(err)
	}
	registry := strings.TrimSpace(string(addr))
	token := strings.Fields(runSkiff(t, "token", "create", "--data-dir", dir))[0]
	server := s.ok(t, "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")
	agentDir := t.TempDir()
	logFile, err := os.Create(filepath.Join(agentDir, "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	agent := exec.Command(skiffBin, "agent", "--server", server, "--token", token, "--node-name=svc-n2",
		"--data-dir", agentDir, "--node-port=0", "--pod-cidr=10.244.231.0/24", "--registry", registry,
		"--cluster-dns=10.150.0.10")
	agent.Stdout, agent.Stderr = logFile, logFile
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- agent.Wait() }()
	t.Cleanup(func() {
		// Pods first (containers outlive containerd), then the second agent, cleanly.
		s.kubectl(t, "delete", "deploy,svc,pod", "-n", "default", "-l", "e2e=services", "--cascade=foreground", "--timeout=50s")
		s.kubectl(t, "wait", "--for=delete", "pod", "-n", "default", "-l", "e2e=services", "--timeout=50s")
		_ = agent.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = agent.Process.Kill()
			<-exited
		}
		logFile.Close()
	})
	for _, n := range []string{"svc-n1", "svc-n2"} {
		eventually(t, 120*time.Second, func() error {
			out := s.kubectl(t, "get", "node", n, "--no-headers")
			if out.err != nil || !strings.Contains(out.stdout, " Ready ") {
				log, _ := os.ReadFile(filepath.Join(agentDir, "agent.log"))
				return fmt.Errorf("node %s not Ready: %s%s\nagent log tail: %s", n, out.stdout, out.stderr, tailOf(string(log), 1500))
			}
			return nil
		})
	}

	httpImage := registry + "/skiff/skiff-http:latest"
	busybox := registry + "/skiff/busybox:latest"
	s.okIn(t, fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {e2e: services}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, e2e: services}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: web
        image: %[1]s
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web2, labels: {e2e: services}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web2}}
  template:
    metadata: {labels: {app: web2, e2e: services}}
    spec:
      nodeSelector: {kubernetes.io/hostname: svc-n2}
      containers:
      - name: web
        image: %[1]s
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {e2e: services}}
spec:
  nodeSelector: {kubernetes.io/hostname: svc-n1}
  containers:
  - name: main
    image: %[2]s
    command: [sh, -c, "sleep 3600"]
---
apiVersion: v1
kind: Pod
metadata: {name: client2, labels: {e2e: services}}
spec:
  nodeSelector: {kubernetes.io/hostname: svc-n2}
  containers:
  - name: main
    image: %[2]s
    command: [sh, -c, "sleep 3600"]
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, labels: {app: db, e2e: services}}
spec:
  hostname: db-0
  subdomain: db
  containers:
  - name: main
    image: %[2]s
    command: [sh, -c, "sleep 3600"]
---
apiVersion: v1
kind: Service
metadata: {name: db, labels: {e2e: services}}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: tcp, port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: web, labels: {e2e: services}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-headless, labels: {e2e: services}}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-np, labels: {e2e: services}}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-lb, labels: {e2e: services}}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 18081, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web2, labels: {e2e: services}}
spec:
  selector: {app: web2}
  ports: [{port: 80, targetPort: 8080}]
`, httpImage, busybox), "apply", "-n", "default", "-f", "-")
	eventually(t, 240*time.Second, func() error {
		ready := s.ok(t, "get", "deploy", "web", "web2", "-n", "default", "-o", "jsonpath={.items[*].status.readyReplicas}")
		clients := s.ok(t, "get", "pod", "client", "client2", "db-0", "-n", "default", "-o", `jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}`)
		if ready != "3 1" || clients != "True True True" {
			return fmt.Errorf("ready replicas %q (want \"3 1\"), clients ready %q; pods:\n%s", ready, clients,
				s.kubectl(t, "get", "pods", "-n", "default", "-o", "wide").stdout)
		}
		return nil
	})

	podNames := strings.Fields(s.ok(t, "get", "pods", "-n", "default", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}"))
	podIPs := strings.Fields(s.ok(t, "get", "pods", "-n", "default", "-l", "app=web", "-o", "jsonpath={.items[*].status.podIP}"))
	if len(podNames) != 3 || len(podIPs) != 3 {
		t.Fatalf("web pods %v, IPs %v", podNames, podIPs)
	}
	t.Logf("web pods %v on %s", podNames, s.ok(t, "get", "pods", "-n", "default", "-l", "app=web", "-o", "jsonpath={.items[*].spec.nodeName}"))
	clusterIP := s.ok(t, "get", "svc", "web", "-n", "default", "-o", "jsonpath={.spec.clusterIP}")
	if !strings.HasPrefix(clusterIP, "10.150.") {
		t.Fatalf("clusterIP %q is not from --service-cluster-ip-range 10.150.0.0/16", clusterIP)
	}
	allThree := func(hits map[string]int) error {
		for _, n := range podNames {
			if hits[n] == 0 {
				return fmt.Errorf("answers %v, want each of %v", hits, podNames)
			}
		}
		if hits["error"] > 0 {
			return fmt.Errorf("answers %v include failures", hits)
		}
		return nil
	}

	t.Run("ClusterIP from the host reaches all 3 replicas", func(t *testing.T) {
		eventually(t, 30*time.Second, func() error { return allThree(svcHits("http://"+clusterIP+"/", 40)) })
	})
	t.Run("ClusterIP from another pod reaches all 3 replicas", func(t *testing.T) {
		eventually(t, 30*time.Second, func() error {
			out := s.kubectl(t, "exec", "-n", "default", "client", "--", "sh", "-c",
				"for i in $(seq 40); do "+podGetShell(clusterIP, "80")+"; done")
			hits := map[string]int{}
			for _, l := range strings.Fields(out.stdout) {
				hits[l]++
			}
			if out.err != nil {
				return fmt.Errorf("exec: %v %s", out.err, out.stderr)
			}
			return allThree(hits)
		})
	})
	t.Run("cluster DNS from a pod", func(t *testing.T) {
		resolv := s.ok(t, "exec", "-n", "default", "client", "--", "cat", "/etc/resolv.conf")
		for _, want := range []string{"nameserver 10.150.0.10", "search default.svc.cluster.local svc.cluster.local cluster.local", "options ndots:5"} {
			if !strings.Contains(resolv, want) {
				t.Errorf("pod resolv.conf lacks %q:\n%s", want, resolv)
			}
		}
		eventually(t, 30*time.Second, func() error {
			out := s.kubectl(t, "exec", "-n", "default", "client", "--", "nslookup", "web.default.svc.cluster.local")
			if out.err != nil || !strings.Contains(out.stdout, "Address: "+clusterIP) {
				return fmt.Errorf("nslookup web.default.svc.cluster.local: %v %s %s", out.err, out.stdout, out.stderr)
			}
			return nil
		})
		out := s.kubectl(t, "exec", "-n", "default", "client", "--", "nslookup", "web-headless.default.svc.cluster.local")
		for _, ip := range podIPs {
			if !strings.Contains(out.stdout, "Address: "+ip) {
				t.Errorf("headless lookup lacks pod IP %s: %v %s %s", ip, out.err, out.stdout, out.stderr)
			}
		}
		// A named port's SRV record, and a headless pod's own name (hostname + subdomain).
		out = s.kubectl(t, "exec", "-n", "default", "client", "--", "nslookup", "-type=SRV", "_http._tcp.web.default.svc.cluster.local")
		if !strings.Contains(out.stdout, "0 100 80 web.default.svc.cluster.local") {
			t.Errorf("SRV _http._tcp.web: %v %s %s", out.err, out.stdout, out.stderr)
		}
		dbIP := s.ok(t, "get", "pod", "db-0", "-n", "default", "-o", "jsonpath={.status.podIP}")
		eventually(t, 30*time.Second, func() error {
			out := s.kubectl(t, "exec", "-n", "default", "client", "--", "nslookup", "db-0.db.default.svc.cluster.local")
			if !strings.Contains(out.stdout, "Address: "+dbIP) {
				return fmt.Errorf("nslookup db-0.db.default.svc.cluster.local (pod IP %s): %v %s %s", dbIP, out.err, out.stdout, out.stderr)
			}
			return nil
		})
		// The search path: a short name resolves too.
		if out := s.kubectl(t, "exec", "-n", "default", "client", "--", "sh", "-c", podGetShell("web", "80")); out.err != nil || !containsAny(out.stdout, podNames) {
			t.Errorf("GET http://web/ from a pod: %v %q %s", out.err, out.stdout, out.stderr)
		}
	})
	t.Run("NodePort answers on the node address", func(t *testing.T) {
		nodeIP := s.ok(t, "get", "node", "svc-n1", "-o", `jsonpath={.status.addresses[?(@.type=="InternalIP")].address}`)
		nodePort := s.ok(t, "get", "svc", "web-np", "-n", "default", "-o", "jsonpath={.spec.ports[0].nodePort}")
		eventually(t, 30*time.Second, func() error { return allThree(svcHits("http://"+nodeIP+":"+nodePort+"/", 40)) })
	})
	t.Run("LoadBalancer gets an ingress address that answers", func(t *testing.T) {
		var ingress string
		eventually(t, 30*time.Second, func() error {
			ingress = s.ok(t, "get", "svc", "web-lb", "-n", "default", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}")
			if ingress == "" {
				return fmt.Errorf("no ingress yet")
			}
			return nil
		})
		eventually(t, 30*time.Second, func() error { return allThree(svcHits("http://"+ingress+":18081/", 40)) })
	})
	t.Run("pods on two nodes reach each other through a service", func(t *testing.T) {
		web2IP := s.ok(t, "get", "svc", "web2", "-n", "default", "-o", "jsonpath={.spec.clusterIP}")
		web2Pod := s.ok(t, "get", "pods", "-n", "default", "-l", "app=web2", "-o", "jsonpath={.items[0].metadata.name}")
		eventually(t, 30*time.Second, func() error {
			out := s.kubectl(t, "exec", "-n", "default", "client", "--", "sh", "-c", podGetShell(web2IP, "80"))
			if out.err != nil || strings.TrimSpace(out.stdout) != web2Pod {
				return fmt.Errorf("client on svc-n1 to web2 on svc-n2: %v %q %s", out.err, out.stdout, out.stderr)
			}
			return nil
		})
		// And back: from a pod on svc-n2 to every web pod by its address (wherever it runs) and to web2's service.
		for _, ip := range podIPs {
			eventually(t, 30*time.Second, func() error {
				out := s.kubectl(t, "exec", "-n", "default", "client2", "--", "sh", "-c", podGetShell(ip, "8080"))
				if out.err != nil || !containsAny(out.stdout, podNames) {
					return fmt.Errorf("client2 on svc-n2 to pod %s: %v %q %s", ip, out.err, out.stdout, out.stderr)
				}
				return nil
			})
		}
	})
	t.Run("scaling to 1 stops traffic to the removed pods within 1 s", func(t *testing.T) {
		s.ok(t, "scale", "-n", "default", "deploy/web", "--replicas=1")
		t0 := time.Now()
		type sample struct {
			at   time.Duration
			name string
		}
		var samples []sample
		for time.Since(t0) < 4*time.Second {
			name, err := svcGet("http://"+clusterIP+"/", 500*time.Millisecond)
			if err != nil {
				name = "error: " + err.Error()
			}
			samples = append(samples, sample{time.Since(t0), name})
			time.Sleep(10 * time.Millisecond)
		}
		survivors := strings.Fields(s.ok(t, "get", "pods", "-n", "default", "-l", "app=web", "-o",
			`go-template={{range .items}}{{if not .metadata.deletionTimestamp}}{{.metadata.name}} {{end}}{{end}}`))
		if len(survivors) != 1 {
			t.Fatalf("pods left after scaling to 1: %v", survivors)
		}
		last := time.Duration(0) // when the last answer from a removed pod (or failure) came
		for _, sm := range samples {
			if sm.name != survivors[0] {
				last = sm.at
			}
		}
		t.Logf("scale to 1: %d requests in 4 s; last answer not from the survivor %s at %v", len(samples), survivors[0], last)
		if last > time.Second {
			var late []string
			for _, sm := range samples {
				if sm.at > time.Second && sm.name != survivors[0] {
					late = append(late, fmt.Sprintf("%v:%s", sm.at.Round(time.Millisecond), sm.name))
				}
			}
			t.Errorf("traffic still went elsewhere than %s more than 1 s after scaling: %v", survivors[0], late)
		}
	})
}

// podGetShell is a shell snippet for a pod that GETs / from host:port and prints the body's last
// line, or "error" (busybox nc: the image's static busybox wget crashes).
func podGetShell(host, port string) string {
	return fmt.Sprintf(`out=$(printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 %s %s | tail -n 1); echo "${out:-error}"`, host, port)
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
