package proxy

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/knftables"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/nodeagent/nftrules"
	"github.com/skiff-dev/skiff/test/poll"
)

// podSlice is a slice of svc with one endpoint per pod ("name" ready, "name!" not ready).
func podSlice(svc string, pods ...string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: svc + "-1", Labels: map[string]string{labelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To[int32](8080)}},
	}
	for i, p := range pods {
		name, notReady := p, false
		if p[len(p)-1] == '!' {
			name, notReady = p[:len(p)-1], true
		}
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.244.0.%d", i+2)},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: name, UID: types.UID("uid-" + name)},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(!notReady)}})
	}
	return s
}

// A sync is a span when it programs rules for pods whose endpoints changed since the last one,
// naming those pods; syncs that change no pod's endpoint are not kept.
func TestSyncSpans(t *testing.T) {
	srv := apiservertest.Start(t)
	c := srv.Client
	ctx := context.Background()
	tp, err := trace.New(ctx, trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	createService(t, c, "web", webIP)
	// A service of another proxy: its pods are none of this one's business.
	createService(t, c, "other", "10.96.200.12", func(s *corev1.Service) { s.Labels = map[string]string{labelServiceProxyName: "x"} })
	if _, err := c.DiscoveryV1().EndpointSlices("default").Create(ctx, podSlice("other", "c"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	slice, err := c.DiscoveryV1().EndpointSlices("default").Create(ctx, podSlice("web", "a!", "b"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var syncs atomic.Int32
	p, err := New(Config{NodeName: "node-a", Client: c, NFTables: knftables.NewFake(knftables.IPv4Family, DefaultTableName),
		MinSyncInterval: 10 * time.Millisecond, TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	p.afterSync = func(bool, time.Duration, *nftrules.Ruleset, []time.Time) { syncs.Add(1) }
	startProxierP(t, p)

	spans := func() []string {
		var out []string
		for _, sp := range tp.Store.Query([]string{"uid-a", "uid-b", "uid-c"}, nil) {
			out = append(out, fmt.Sprintf("%s [%s] %s@%s", sp.Name, sp.Attributes[trace.AttrRelatedUIDs], sp.Component, sp.Attributes[trace.AttrNode]))
		}
		return out
	}
	expect := func(want ...string) {
		t.Helper()
		poll.Until(t, 10*time.Second, "sync spans", poll.Check(func() (bool, string) {
			got := spans()
			return fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprintf("spans %q, want %q", got, want)
		}))
	}
	first := "program rules: a added (not ready), b added (ready) [uid-a,uid-b] proxy@node-a"
	expect(first)

	update := func(s *discoveryv1.EndpointSlice) {
		t.Helper()
		s.ResourceVersion = slice.ResourceVersion
		if slice, err = c.DiscoveryV1().EndpointSlices("default").Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	update(podSlice("web", "a", "b"))
	ready := "program rules: a ready [uid-a] proxy@node-a"
	expect(first, ready)

	// A change that moves no pod's endpoint: a sync, and no span kept.
	before, held := syncs.Load(), tp.Store.Len()
	createService(t, c, "empty", emptyIP)
	poll.Until(t, 10*time.Second, "a sync for the new service", poll.Check(func() (bool, string) {
		return syncs.Load() > before, "no sync yet"
	}))
	if n := tp.Store.Len(); n != held {
		t.Errorf("the store holds %d spans after a sync that changed no endpoint, want %d", n, held)
	}

	if err := c.DiscoveryV1().EndpointSlices("default").Delete(ctx, slice.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect(first, ready, "program rules: a removed, b removed [uid-a,uid-b] proxy@node-a")
}
