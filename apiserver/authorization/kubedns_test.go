package authorization_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/apiserver/authorization"
	"github.com/skiff-dev/skiff/controllers/clusterdns"
	"github.com/skiff-dev/skiff/test/poll"
)

// kubeDNSClient is a client from the kube-dns kubeconfig the server wrote into its data dir.
func kubeDNSClient(t *testing.T, s *apiservertest.Server) kubernetes.Interface {
	t.Helper()
	path := (&apiserver.Options{DataDir: s.DataDir}).KubeDNSKubeconfigPath()
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	cfg.QPS = -1
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestKubeDNSIdentityRights checks the rights of the DNS server's own credential: the reads its
// informers make and the writes that keep kube-system/kube-dns, nothing else.
func TestKubeDNSIdentityRights(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	c := kubeDNSClient(t, s)

	review, err := c.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := review.Status.UserInfo.Username; got != authorization.KubeDNSUser {
		t.Fatalf("kube-dns kubeconfig authenticates as %q, want %q", got, authorization.KubeDNSUser)
	}
	for _, g := range review.Status.UserInfo.Groups {
		if g == "system:masters" {
			t.Fatalf("kube-dns identity is in system:masters")
		}
	}

	slice := func(ns, name string) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels: map[string]string{discoveryv1.LabelServiceName: "kube-dns"}}, AddressType: discoveryv1.AddressTypeIPv4}
	}
	svc := func(ns, name string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}}}}
	}
	// notForbidden accepts any answer but 403 (a missing object's 404 means the request was allowed).
	notForbidden := func(err error) error {
		if apierrors.IsForbidden(err) {
			return err
		}
		return nil
	}
	allowed := []struct {
		name string
		do   func() error
	}{
		{"list services in all namespaces", func() error {
			_, err := c.CoreV1().Services("").List(ctx, metav1.ListOptions{})
			return err
		}},
		{"watch services", func() error {
			w, err := c.CoreV1().Services("").Watch(ctx, metav1.ListOptions{})
			if err == nil {
				w.Stop()
			}
			return err
		}},
		{"list endpointslices in all namespaces", func() error {
			_, err := c.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{})
			return err
		}},
		{"watch endpointslices", func() error {
			w, err := c.DiscoveryV1().EndpointSlices("").Watch(ctx, metav1.ListOptions{})
			if err == nil {
				w.Stop()
			}
			return err
		}},
		{"get kube-system/kube-dns", func() error {
			_, err := c.CoreV1().Services("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
			return notForbidden(err)
		}},
		{"create a kube-system EndpointSlice", func() error {
			_, err := c.DiscoveryV1().EndpointSlices("kube-system").Create(ctx, slice("kube-system", "kube-dns-test"), metav1.CreateOptions{})
			return notForbidden(err)
		}},
		{"update a kube-system EndpointSlice", func() error {
			cur, err := c.DiscoveryV1().EndpointSlices("kube-system").Get(ctx, "kube-dns-test", metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Labels["x"] = "y"
			_, err = c.DiscoveryV1().EndpointSlices("kube-system").Update(ctx, cur, metav1.UpdateOptions{})
			return err
		}},
		{"delete a kube-system EndpointSlice", func() error {
			return c.DiscoveryV1().EndpointSlices("kube-system").Delete(ctx, "kube-dns-test", metav1.DeleteOptions{})
		}},
	}
	for _, a := range allowed {
		// RBAC's informers may lag the bootstrap policy just after start.
		poll.Until(t, cachesTimeout, a.name, a.do)
	}

	forbidden := []struct {
		name string
		do   func() error
	}{
		{"list secrets", func() error {
			_, err := c.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
			return err
		}},
		{"get a secret", func() error {
			_, err := c.CoreV1().Secrets("kube-system").Get(ctx, "x", metav1.GetOptions{})
			return err
		}},
		{"list pods", func() error {
			_, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
			return err
		}},
		{"list nodes", func() error {
			_, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			return err
		}},
		{"list configmaps", func() error {
			_, err := c.CoreV1().ConfigMaps("kube-system").List(ctx, metav1.ListOptions{})
			return err
		}},
		{"get another kube-system Service", func() error {
			_, err := c.CoreV1().Services("kube-system").Get(ctx, "other", metav1.GetOptions{})
			return err
		}},
		{"get a Service elsewhere", func() error {
			_, err := c.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
			return err
		}},
		{"create a Service elsewhere", func() error {
			_, err := c.CoreV1().Services("default").Create(ctx, svc("default", "evil"), metav1.CreateOptions{})
			return err
		}},
		{"update a Service", func() error {
			_, err := c.CoreV1().Services("default").Update(ctx, svc("default", "kubernetes"), metav1.UpdateOptions{})
			return err
		}},
		{"delete the kubernetes Service", func() error {
			return c.CoreV1().Services("default").Delete(ctx, "kubernetes", metav1.DeleteOptions{})
		}},
		{"delete a kube-system Service", func() error {
			return c.CoreV1().Services("kube-system").Delete(ctx, "kube-dns", metav1.DeleteOptions{})
		}},
		{"create an EndpointSlice elsewhere", func() error {
			_, err := c.DiscoveryV1().EndpointSlices("default").Create(ctx, slice("default", "evil"), metav1.CreateOptions{})
			return err
		}},
		{"delete an EndpointSlice elsewhere", func() error {
			return c.DiscoveryV1().EndpointSlices("default").Delete(ctx, "kubernetes", metav1.DeleteOptions{})
		}},
		{"patch an EndpointSlice", func() error {
			_, err := c.DiscoveryV1().EndpointSlices("kube-system").Patch(ctx, "kube-dns-x", "application/merge-patch+json", []byte(`{}`), metav1.PatchOptions{})
			return err
		}},
		{"create a namespace", func() error {
			_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "evil"}}, metav1.CreateOptions{})
			return err
		}},
	}
	for _, f := range forbidden {
		if err := f.do(); !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v, want 403", f.name, err)
		}
	}
	_, err = c.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	want := `secrets is forbidden: User "system:kube-dns" cannot list resource "secrets" in API group "" at the cluster scope`
	if err == nil || err.Error() != want {
		t.Errorf("list secrets: %v, want %q", err, want)
	}

	// Upstream binds system:kube-dns to the kube-system/kube-dns ServiceAccount too.
	sar, err := s.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: "system:serviceaccount:kube-system:kube-dns",
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "watch", Group: "discovery.k8s.io", Resource: "endpointslices"}}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !sar.Status.Allowed {
		t.Errorf("kube-system/kube-dns ServiceAccount may not watch endpointslices: %+v", sar.Status)
	}
}

// TestKubeDNSServesWithOwnIdentity runs the cluster DNS server with the kube-dns credential: its
// informers sync, it answers for a Service, keeps kube-system/kube-dns and its member slice, and
// removes the slice when it stops.
func TestKubeDNSServesWithOwnIdentity(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	c := kubeDNSClient(t, s)
	if _, err := s.Client.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	web, err := s.Client.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Wait until RBAC serves the bootstrap policy to this identity before starting.
	poll.Until(t, cachesTimeout, "kube-dns lists services", func() error {
		_, err := c.CoreV1().Services("").List(ctx, metav1.ListOptions{Limit: 1})
		return err
	})

	// EndpointSlices refuse loopback addresses: listen on this host's own address.
	hostIP, err := utilnet.ChooseHostInterface()
	if err != nil {
		t.Skipf("no host address to serve DNS on: %v", err)
	}
	srv, err := clusterdns.New(clusterdns.Config{Client: c, Address: hostIP.String(), Upstreams: []string{},
		ServiceIP: "10.96.0.10", MemberName: "member-a", ResyncPeriod: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Start(dctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("DNS server: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("DNS server did not stop")
		}
	}
	t.Cleanup(stop)
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatalf("DNS server stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("DNS server with the kube-dns identity not ready after 30s (informers did not sync?)")
	}

	addr := srv.Addr().String()
	poll.Until(t, cachesTimeout, "web.default.svc.cluster.local resolves", func() error {
		m := new(dns.Msg)
		m.SetQuestion("web.default.svc.cluster.local.", dns.TypeA)
		r, _, err := (&dns.Client{Net: "udp", Timeout: 3 * time.Second}).Exchange(m, addr)
		if err != nil {
			return err
		}
		if len(r.Answer) != 1 {
			return fmt.Errorf("answer %v", r.Answer)
		}
		a, ok := r.Answer[0].(*dns.A)
		if !ok || !a.A.Equal(net.ParseIP(web.Spec.ClusterIP)) {
			return fmt.Errorf("answer %v, want %s", r.Answer, web.Spec.ClusterIP)
		}
		return nil
	})
	poll.Until(t, cachesTimeout, "kube-dns Service and member slice", func() error {
		kd, err := s.Client.CoreV1().Services("kube-system").Get(ctx, clusterdns.ServiceName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if kd.Spec.ClusterIP != "10.96.0.10" {
			return fmt.Errorf("kube-dns ClusterIP %s", kd.Spec.ClusterIP)
		}
		_, err = s.Client.DiscoveryV1().EndpointSlices("kube-system").Get(ctx, clusterdns.SliceName("member-a"), metav1.GetOptions{})
		return err
	})
	stop()
	if _, err := s.Client.DiscoveryV1().EndpointSlices("kube-system").Get(ctx, clusterdns.SliceName("member-a"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("member slice after stop: %v, want NotFound", err)
	}
}
