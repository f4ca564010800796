package apiserver

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base32"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/kubernetes"
	"k8s.io/component-helpers/apimachinery/lease"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/skiff-dev/skiff/apiserver/insight/traces"
	"github.com/skiff-dev/skiff/apiserver/pki"
)

// API server identity leases, as kube-apiserver's APIServerIdentity: every API server keeps a
// Lease named after its identity in kube-system, labelled apiserver.kubernetes.io/identity=
// kube-apiserver and kubernetes.io/hostname, with its address for peers in the
// kubernetes.io/peer-advertise-address annotation (upstream sets it for its mixed-version proxy;
// Skiff's members find each other by it, e.g. to gather each other's spans for skiff trace).
// Expired identity Leases of stopped servers are deleted, as upstream's lease garbage collector.
const (
	IdentityLeaseLabel           = "apiserver.kubernetes.io/identity"
	identityLeaseComponent       = "kube-apiserver"
	identityLeaseDurationSeconds = 3600
	identityLeaseRenewInterval   = 10 * time.Second
	identityLeaseGCPeriod        = time.Hour
	// identityPeerFresh is how recently a peer must have renewed its identity Lease to be asked.
	identityPeerFresh = 3 * identityLeaseRenewInterval
)

// APIServerID is upstream's identity of an API server: "apiserver-" and a hash of the host name
// and the component. Several members of one Skiff control plane may run on one host, so a
// member's etcd name is part of the hash (nothing is added for a single server, whose identity
// is upstream's).
func APIServerID(hostname, memberName string) string {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(hostname)) })
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(identityLeaseComponent)) })
	if memberName != "" {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(memberName)) })
	}
	data := b.BytesOrPanic()
	hash := sha256.Sum256(data)
	return "apiserver-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(hash[:16]))
}

// identityLease keeps this server's identity Lease.
type identityLease struct {
	client   kubernetes.Interface
	id       string
	hostname string
	clock    clock.Clock
}

// start renews the Lease (peer is "ip:port", or "" when the server has no address peers can
// use) and collects expired ones until ctx ends.
func (l *identityLease) start(ctx context.Context, peer string) error {
	ctrl := lease.NewController(l.clock, l.client, l.id+"_"+string(uuid.NewUUID()), identityLeaseDurationSeconds, nil,
		identityLeaseRenewInterval, l.id, metav1.NamespaceSystem, func(le *coordinationv1.Lease) error {
			if le.Labels == nil {
				le.Labels = map[string]string{}
			}
			if le.Annotations == nil {
				le.Annotations = map[string]string{}
			}
			le.Labels[IdentityLeaseLabel] = identityLeaseComponent
			le.Labels[corev1.LabelHostname] = l.hostname
			if peer != "" {
				le.Annotations[corev1.AnnotationPeerAdvertiseAddress] = peer
			}
			return nil
		})
	if err := ctrl.Start(ctx.Done()); err != nil {
		return err
	}
	go wait.UntilWithContext(ctx, l.collect, identityLeaseGCPeriod)
	return nil
}

// collect deletes the identity Leases that expired (their server stopped without removing them).
func (l *identityLease) collect(ctx context.Context) {
	leases, err := identityLeases(ctx, l.client)
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Listing API server identity leases failed", "err", err)
		return
	}
	for _, le := range leases {
		if le.Name == l.id || !leaseExpired(le, l.clock.Now(), 0) {
			continue
		}
		err := l.client.CoordinationV1().Leases(le.Namespace).Delete(ctx, le.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{ResourceVersion: &le.ResourceVersion}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			klog.FromContext(ctx).V(2).Info("Deleting an expired API server identity lease failed", "lease", le.Name, "err", err)
		}
	}
}

// leaseExpired says whether le was last renewed longer ago than its duration (or than within,
// when within is not 0).
func leaseExpired(le *coordinationv1.Lease, now time.Time, within time.Duration) bool {
	if le.Spec.RenewTime == nil {
		return true
	}
	if within == 0 {
		if le.Spec.LeaseDurationSeconds == nil {
			return true
		}
		within = time.Duration(*le.Spec.LeaseDurationSeconds) * time.Second
	}
	return le.Spec.RenewTime.Add(within).Before(now)
}

// peerAddress is "ip:port" for the identity Lease's annotation ("" without an address).
func peerAddress(ip net.IP, port int) string {
	if ip == nil || port == 0 {
		return ""
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(port))
}

// LivePeers are the addresses ("ip:port") of the other API servers whose identity Leases were
// renewed lately, sorted.
func LivePeers(leases []*coordinationv1.Lease, self string, now time.Time) []string {
	var out []string
	for _, le := range leases {
		if le.Name == self || le.Labels[IdentityLeaseLabel] != identityLeaseComponent || leaseExpired(le, now, identityPeerFresh) {
			continue
		}
		if a := le.Annotations[corev1.AnnotationPeerAdvertiseAddress]; a != "" {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// livePeers lists LivePeers with one LIST (asked only when a trace is queried: an informer
// would follow every node's Lease renewals too).
func livePeers(client kubernetes.Interface, self string, clk clock.PassiveClock) func(context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		leases, err := identityLeases(ctx, client)
		if err != nil {
			return nil, err
		}
		return LivePeers(leases, self, clk.Now()), nil
	}
}

// identityLeases lists the API servers' identity Leases.
func identityLeases(ctx context.Context, client kubernetes.Interface) ([]*coordinationv1.Lease, error) {
	list, err := client.CoordinationV1().Leases(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{
		LabelSelector: IdentityLeaseLabel + "=" + identityLeaseComponent})
	if err != nil {
		return nil, err
	}
	leases := make([]*coordinationv1.Lease, len(list.Items))
	for i := range list.Items {
		leases[i] = &list.Items[i]
	}
	return leases, nil
}

// peerTraces is how this server asks the other members for their spans: their identity Leases
// name them, and a client certificate of the shared CA for system:apiserver (in
// system:masters, upstream's loopback identity) authenticates it to them.
func (c *Config) peerTraces() (traces.Config, error) {
	client, err := kubernetes.NewForConfig(c.Generic.LoopbackClientConfig)
	if err != nil {
		return traces.Config{}, fmt.Errorf("loopback client: %w", err)
	}
	certPEM, keyPEM, err := c.CA.Issue(pki.CertSpec{CommonName: user.APIServerUser, Organization: []string{user.SystemPrivilegedGroup}, Client: true})
	if err != nil {
		return traces.Config{}, fmt.Errorf("peer client certificate: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return traces.Config{}, fmt.Errorf("peer client certificate: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(c.CA.CertPEM)
	rt := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute}
	return traces.Config{Peers: livePeers(client, c.Generic.APIServerID, clock.RealClock{}), PeerTransport: rt}, nil
}
