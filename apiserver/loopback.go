package apiserver

import (
	"crypto/rand"
	"fmt"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/client-go/rest"

	"github.com/skiff-dev/skiff/apiserver/pki"
)

// applySecureServing applies the serving options and sets up the loopback client (the
// server's in-process clients) as upstream's SecureServingOptionsWithLoopback does: a serving
// certificate for the fake name apiserver-loopback-client, first among the SNI certificates,
// and a random bearer token. Upstream generates a self-signed RSA-2048 key for it at every
// start (about a quarter of a second of CPU); here the cluster CA issues an ECDSA one.
func applySecureServing(serving *genericoptions.SecureServingOptions, ca *pki.CA, info **genericapiserver.SecureServingInfo, loopback **rest.Config) error {
	if err := serving.ApplyTo(info); err != nil {
		return err
	}
	if *info == nil {
		return nil
	}
	name := genericapiserver.LoopbackClientServerNameOverride
	certPEM, keyPEM, err := ca.Issue(pki.CertSpec{CommonName: name, DNSNames: []string{name}, Server: true})
	if err != nil {
		return fmt.Errorf("loopback serving certificate: %w", err)
	}
	provider, err := dynamiccertificates.NewStaticSNICertKeyContent("loopback", certPEM, keyPEM, name)
	if err != nil {
		return fmt.Errorf("loopback serving certificate: %w", err)
	}
	(*info).SNICerts = append([]dynamiccertificates.SNICertKeyContentProvider{provider}, (*info).SNICerts...)
	cfg, err := (*info).NewLoopbackClientConfig(rand.Text(), ca.CertPEM)
	if err != nil {
		return fmt.Errorf("loopback client: %w", err)
	}
	// As kube-apiserver's BuildGenericConfig: protobuf and no compression for self-communication
	// (gzip per watch event is a few percent of the CPU of a write-heavy load).
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.DisableCompression = true
	*loopback = cfg
	return nil
}
