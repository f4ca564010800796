package controlplane

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/bootstrap"
	"github.com/skiff-dev/skiff/apiserver/etcd"
)

// ErrNotControlPlaneToken is returned when the server refuses the token for joining a member.
var ErrNotControlPlaneToken = errors.New("the server refused the token for a control-plane join (403): create one with `skiff token create --control-plane`")

// join downloads the shared credentials with the token, adds this member to etcd as a learner
// and returns the settings its embedded etcd starts with.
func join(ctx context.Context, o Options, st *State) (*etcd.Cluster, error) {
	log := klog.FromContext(ctx)
	tok, err := bootstrap.ParseToken(o.Token)
	if err != nil {
		return nil, fmt.Errorf("--token: %w", err)
	}
	u, err := url.Parse(o.Join)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("--join %q: want https://HOST:PORT", o.Join)
	}
	caPEM, err := clusterCA(ctx, o)
	if err != nil {
		return nil, err
	}
	resp, err := fetchJoin(ctx, o.Join, tok.String(), caPEM)
	if err != nil {
		return nil, err
	}
	if len(resp.EtcdClientURLs) == 0 {
		return nil, fmt.Errorf("%s is not a growable control plane (started without --cluster-init): no etcd member to join", o.Join)
	}
	// The CA that arrives must be the one verified above (pinned or trusted on first use).
	if !bytes.Equal(bytes.TrimSpace(resp.Files["pki/ca.crt"]), bytes.TrimSpace(caPEM)) {
		return nil, fmt.Errorf("the credentials from %s carry another CA than cluster-info's: refusing them", o.Join)
	}
	if _, ok := resp.Files["pki/etcd/ca.key"]; !ok {
		return nil, fmt.Errorf("%s sent no etcd CA: is it started with --cluster-init?", o.Join)
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, err
	}
	if err := WriteSharedFiles(o.DataDir, resp.Files); err != nil {
		return nil, err
	}
	cl, err := memberPKI(o.DataDir, st)
	if err != nil {
		return nil, err
	}
	cli, err := etcd.ClientInfo{Endpoints: resp.EtcdClientURLs, CAFile: cl.CAFile, CertFile: cl.ClientCertFile, KeyFile: cl.ClientKeyFile}.NewClient()
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	initial, err := addLearner(ctx, cli, st)
	if err != nil {
		return nil, err
	}
	log.Info("Added this member to etcd as a learner", "member", st.Name, "peerURL", st.PeerURL(), "initialCluster", initial)
	cl.InitialCluster, cl.Existing, cl.PromoteVia = initial, true, resp.EtcdClientURLs
	return cl, nil
}

// addLearner adds the member (or finds it, added by an earlier attempt that did not start) and
// returns the initial-cluster string naming every started member and this one.
func addLearner(ctx context.Context, cli *clientv3.Client, st *State) (string, error) {
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	list, err := cli.MemberList(rctx)
	if err != nil {
		return "", fmt.Errorf("listing etcd members: %w", err)
	}
	var mine *uint64
	for _, m := range list.Members {
		if m.Name == st.Name {
			return "", fmt.Errorf("the cluster already has an etcd member named %q: choose another --member-name, or remove the old member first", st.Name)
		}
		for _, p := range m.PeerURLs {
			if p == st.PeerURL() && m.Name == "" {
				id := m.ID
				mine = &id
			}
		}
	}
	members := list.Members
	if mine == nil {
		// A cluster that just changed (a member promoted a moment ago) or that has a learner
		// catching up refuses another for a while: retry.
		var added *clientv3.MemberAddResponse
		for attempt := 0; ; attempt++ {
			added, err = cli.MemberAddAsLearner(rctx, []string{st.PeerURL()})
			retry := errors.Is(err, rpctypes.ErrGRPCUnhealthy) || errors.Is(err, rpctypes.ErrGRPCTooManyLearners) ||
				errors.Is(err, rpctypes.ErrUnhealthy) || errors.Is(err, rpctypes.ErrTooManyLearners)
			if err == nil || !retry || attempt >= 100 {
				break
			}
			select {
			case <-rctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
			if rctx.Err() != nil {
				break
			}
		}
		if err != nil {
			if errors.Is(err, rpctypes.ErrGRPCPeerURLExist) {
				return "", fmt.Errorf("peer URL %s is already an etcd member's: %w", st.PeerURL(), err)
			}
			return "", fmt.Errorf("adding the etcd member: %w", err)
		}
		members = added.Members
	}
	var parts []string
	for _, m := range members {
		name := m.Name
		if name == "" {
			if len(m.PeerURLs) == 1 && m.PeerURLs[0] == st.PeerURL() {
				name = st.Name
			} else {
				continue // another member that has not started yet
			}
		}
		for _, p := range m.PeerURLs {
			parts = append(parts, name+"="+p)
		}
	}
	return strings.Join(parts, ","), nil
}

// fetchJoin reads ControlPlaneJoinPath with the token, verifying the server with the CA.
func fetchJoin(ctx context.Context, server, token string, caPEM []byte) (*JoinResponse, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("the cluster CA is not PEM")
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(server, "/")+bootstrap.ControlPlaneJoinPath, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reaching %s: %w", server, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 2*maxSharedBytes))
	if err != nil {
		return nil, fmt.Errorf("reading the join response: %w", err)
	}
	switch res.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return nil, fmt.Errorf("the join token was refused by %s (401 Unauthorized): check the token and its expiry", server)
	case http.StatusForbidden:
		return nil, ErrNotControlPlaneToken
	case http.StatusNotFound:
		return nil, fmt.Errorf("%s does not serve control-plane joins: is it started with --cluster-init?", server)
	default:
		return nil, fmt.Errorf("joining through %s: %s: %s", server, res.Status, strings.TrimSpace(string(body)))
	}
	out := &JoinResponse{}
	if err := json.Unmarshal(body, out); err != nil {
		return nil, fmt.Errorf("decoding the join response: %w", err)
	}
	return out, nil
}

// clusterCA reads kube-public/cluster-info without verifying the server (the CA is what is being
// learnt), and checks it against CACertHash when given.
func clusterCA(ctx context.Context, o Options) ([]byte, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // learning the CA, checked below
	}}
	u := strings.TrimSuffix(o.Join, "/") + "/api/v1/namespaces/" + bootstrap.ClusterInfoNamespace + "/configmaps/" + bootstrap.ClusterInfoName
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reaching %s: %w", o.Join, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading the cluster CA from %s: %s", u, res.Status)
	}
	cm := &corev1.ConfigMap{}
	if err := json.Unmarshal(body, cm); err != nil {
		return nil, fmt.Errorf("decoding cluster-info: %w", err)
	}
	kc, err := clientcmd.Load([]byte(cm.Data[bootstrap.ClusterInfoKubeconfigKey]))
	if err != nil {
		return nil, fmt.Errorf("cluster-info's kubeconfig: %w", err)
	}
	var caPEM []byte
	for _, c := range kc.Clusters {
		if len(c.CertificateAuthorityData) > 0 {
			caPEM = c.CertificateAuthorityData
		}
	}
	certs, err := certutil.ParseCertsPEM(caPEM)
	if err != nil {
		return nil, fmt.Errorf("cluster-info has no usable CA: %w", err)
	}
	got := caHash(certs[0])
	if o.CACertHash != "" {
		if !strings.EqualFold(got, o.CACertHash) {
			return nil, fmt.Errorf("the cluster CA (%s) does not match --ca-cert-hash %s: refusing to trust the server", got, o.CACertHash)
		}
	} else {
		klog.FromContext(ctx).Info("Trusting the cluster CA on first use: pass --ca-cert-hash to pin it", "caCertHash", got)
	}
	return caPEM, nil
}

func caHash(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:])
}
