package apiserver

import (
	"os"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/utils/ptr"
)

// A single server's identity is upstream's (k8s.io/apiserver computes it from the host name);
// members on one host differ.
func TestAPIServerID(t *testing.T) {
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	upstream := genericapiserver.NewConfig(serializer.NewCodecFactory(runtime.NewScheme())).APIServerID
	if got := APIServerID(hostname, ""); got != upstream {
		t.Errorf("APIServerID(%q, \"\") = %q, upstream's %q", hostname, got, upstream)
	}
	a, b := APIServerID(hostname, "m1"), APIServerID(hostname, "m2")
	if a == b || a == upstream || !strings.HasPrefix(a, "apiserver-") || len(a) != len(upstream) {
		t.Errorf("members' identities %q, %q (single %q)", a, b, upstream)
	}
}

func TestLivePeers(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	lease := func(name, peer, component string, renewed time.Duration) *coordinationv1.Lease {
		l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system",
			Labels:      map[string]string{IdentityLeaseLabel: component},
			Annotations: map[string]string{}},
			Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To[int32](3600)}}
		if peer != "" {
			l.Annotations["kubernetes.io/peer-advertise-address"] = peer
		}
		if renewed >= 0 {
			l.Spec.RenewTime = ptr.To(metav1.NewMicroTime(now.Add(-renewed)))
		}
		return l
	}
	leases := []*coordinationv1.Lease{
		lease("apiserver-self", "10.0.0.1:6443", "kube-apiserver", 0),
		lease("apiserver-b", "10.0.0.3:6443", "kube-apiserver", 5*time.Second),
		lease("apiserver-a", "10.0.0.2:6443", "kube-apiserver", 29*time.Second),
		lease("apiserver-stale", "10.0.0.4:6443", "kube-apiserver", 31*time.Second), // stopped renewing
		lease("apiserver-never", "10.0.0.5:6443", "kube-apiserver", -1),             // never renewed
		lease("apiserver-noaddr", "", "kube-apiserver", 0),                          // no address for peers
		lease("sample-apiserver", "10.0.0.6:443", "sample-apiserver", 0),            // another component
	}
	got := strings.Join(LivePeers(leases, "apiserver-self", now), " ")
	if want := "10.0.0.2:6443 10.0.0.3:6443"; got != want {
		t.Errorf("LivePeers = %q, want %q", got, want)
	}
	if peerAddress(nil, 6443) != "" || peerAddress([]byte{10, 0, 0, 1}, 0) != "" || peerAddress([]byte{10, 0, 0, 1}, 6443) != "10.0.0.1:6443" {
		t.Error("peerAddress")
	}
}
