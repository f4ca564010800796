package apiserver_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/test/poll"
)

// TestKubernetesEndpointsListLiveAPIServers: every API server keeps an endpoint Lease, and
// default/kubernetes's Endpoints and EndpointSlice list the IPs of the live ones (another
// member's fresh Lease is added, an expired one is dropped and deleted), as upstream's lease
// endpoint reconciler.
func TestKubernetesEndpointsListLiveAPIServers(t *testing.T) {
	s := apiservertest.StartWith(t, func(o *apiserver.Options) { o.AdvertiseAddress = "10.250.0.1" })
	c := s.Client
	ctx := context.Background()
	endpointIPs := func() ([]string, []string, error) {
		ep, err := c.CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			return nil, nil, err
		}
		var ips, sliceIPs []string
		for _, ss := range ep.Subsets {
			for _, a := range ss.Addresses {
				ips = append(ips, a.IP)
			}
		}
		sl, err := c.DiscoveryV1().EndpointSlices("default").Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			return nil, nil, err
		}
		for _, e := range sl.Endpoints {
			sliceIPs = append(sliceIPs, e.Addresses...)
		}
		slices.Sort(sliceIPs)
		return ips, sliceIPs, nil
	}
	waitIPs := func(want ...string) {
		t.Helper()
		poll.Until(t, 20*time.Second, fmt.Sprintf("endpoints %v", want), func() error {
			ips, sliceIPs, err := endpointIPs()
			if err == nil && (!slices.Equal(ips, want) || !slices.Equal(sliceIPs, want)) {
				err = fmt.Errorf("endpoints %v, slice %v", ips, sliceIPs)
			}
			return err
		})
	}
	waitIPs("10.250.0.1")
	if _, err := c.CoordinationV1().Leases("kube-system").Get(ctx, "apiserver-endpoint-10-250-0-1", metav1.GetOptions{}); err != nil {
		t.Fatalf("own endpoint lease: %v", err)
	}
	lease := func(ip string, renewed time.Time) *coordinationv1.Lease {
		return &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: "apiserver-endpoint-" + ip, Namespace: "kube-system",
				Labels: map[string]string{"skiff.dev/apiserver-endpoint": "true"}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(ip), LeaseDurationSeconds: ptr.To[int32](15),
				RenewTime: ptr.To(metav1.NewMicroTime(renewed))},
		}
	}
	// Another live member, and one that stopped renewing a minute ago.
	for _, l := range []*coordinationv1.Lease{lease("10.250.0.2", time.Now().Add(time.Hour)), lease("10.250.0.3", time.Now().Add(-time.Minute))} {
		if _, err := c.CoordinationV1().Leases("kube-system").Create(ctx, l, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitIPs("10.250.0.1", "10.250.0.2")
	poll.Until(t, 5*time.Second, "the expired lease removed", func() error {
		_, err := c.CoordinationV1().Leases("kube-system").Get(ctx, "apiserver-endpoint-10.250.0.3", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("the expired lease is still there: %v", err)
		}
		return nil
	})
	// Its identity Lease, as kube-apiserver's: labelled, with its address for the other members.
	poll.Until(t, 20*time.Second, "the identity lease", func() error {
		list, err := c.CoordinationV1().Leases("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "apiserver.kubernetes.io/identity=kube-apiserver"})
		if err != nil {
			return err
		}
		if len(list.Items) != 1 {
			return fmt.Errorf("%d identity leases", len(list.Items))
		}
		l := list.Items[0]
		if !strings.HasPrefix(l.Name, "apiserver-") || l.Labels["kubernetes.io/hostname"] == "" || l.Spec.RenewTime == nil ||
			!strings.HasPrefix(l.Annotations["kubernetes.io/peer-advertise-address"], "10.250.0.1:") ||
			!strings.HasPrefix(ptr.Deref(l.Spec.HolderIdentity, ""), l.Name+"_") {
			return fmt.Errorf("identity lease %s: labels %v, annotations %v, holder %v", l.Name, l.Labels, l.Annotations, ptr.Deref(l.Spec.HolderIdentity, ""))
		}
		return nil
	})
}
