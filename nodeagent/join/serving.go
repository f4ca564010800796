package join

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// ServingFile is where a node keeps its serving certificate and key (PEM, one file) under its
// data dir, as the kubelet's pki/kubelet-server-current.pem.
const ServingFile = "serving.pem"

// servingReuseFraction is how much of its lifetime a kept serving certificate must have left to
// be used again: the kubelet's certificate manager rotates at 70-90 % of the lifetime.
const servingReuseFraction = 0.3

// KeptServingCertificate is the serving certificate and key kept in dir (ServingFile) when they
// name exactly ips and dnsNames and have servingReuseFraction of their lifetime left at now;
// otherwise it obtains new ones with request and keeps them there. A node that restarts thus
// asks for no certificate (issue 17: 5,000 simulated nodes restarted sent 5,000 certificate
// signing requests, about four minutes of the control plane's spare CPU). A kept file that
// cannot be read or used is replaced.
func KeptServingCertificate(dir string, ips []net.IP, dnsNames []string, now time.Time,
	request func() (certPEM, keyPEM []byte, err error)) (certPEM, keyPEM []byte, err error) {
	path := filepath.Join(dir, ServingFile)
	if data, err := os.ReadFile(path); err == nil {
		if certPEM, keyPEM, ok := reusableServing(data, ips, dnsNames, now); ok {
			return certPEM, keyPEM, nil
		}
	}
	certPEM, keyPEM, err = request()
	if err != nil {
		return nil, nil, err
	}
	if err := writeFileAtomic(path, append(append([]byte{}, certPEM...), keyPEM...), 0o600); err != nil {
		return nil, nil, fmt.Errorf("keeping the serving certificate: %w", err)
	}
	return certPEM, keyPEM, nil
}

// reusableServing splits data (certificate then key PEM) and reports whether it is a pair that
// names exactly ips and dnsNames with servingReuseFraction of its lifetime left at now.
func reusableServing(data []byte, ips []net.IP, dnsNames []string, now time.Time) (certPEM, keyPEM []byte, ok bool) {
	i := bytes.Index(data, []byte("-----BEGIN EC PRIVATE KEY-----"))
	if i <= 0 {
		return nil, nil, false
	}
	certPEM, keyPEM = data[:i], data[i:]
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, false
	}
	cert := pair.Leaf // parsed by X509KeyPair
	lifetime := cert.NotAfter.Sub(cert.NotBefore)
	if now.Before(cert.NotBefore) || cert.NotAfter.Sub(now) < time.Duration(float64(lifetime)*servingReuseFraction) {
		return nil, nil, false
	}
	sameIPs := slices.EqualFunc(sortedIPs(cert.IPAddresses), sortedIPs(ips), net.IP.Equal)
	if !sameIPs || !slices.Equal(slices.Sorted(slices.Values(cert.DNSNames)), slices.Sorted(slices.Values(dnsNames))) {
		return nil, nil, false
	}
	return certPEM, keyPEM, true
}

func sortedIPs(ips []net.IP) []net.IP {
	out := make([]net.IP, len(ips))
	for i, ip := range ips {
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		out[i] = ip
	}
	slices.SortFunc(out, func(a, b net.IP) int { return bytes.Compare(a, b) })
	return out
}
