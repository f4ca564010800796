package certificates

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
)

// Identities and messages as upstream.
const (
	NodeUserPrefix = "system:node:"
	NodesGroup     = "system:nodes"
	// BootstrappersGroup is the group of join-token users.
	BootstrappersGroup = "system:bootstrappers"

	ReasonAutoApproved     = "AutoApproved"
	MessageNodeClient      = "Auto approving kubelet client certificate after SubjectAccessReview."
	MessageSelfNodeClient  = "Auto approving self kubelet client certificate after SubjectAccessReview."
	MessageNodeServing     = "Auto approving kubelet serving certificate: requested by the node itself for its own name and addresses."
	ReasonSignerValidation = "SignerValidationFailure"
)

// ParseRequest decodes the PEM certificate request of a CSR.
func ParseRequest(pemBytes []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("PEM block type must be CERTIFICATE REQUEST")
	}
	return x509.ParseCertificateRequest(block.Bytes)
}

func usageSet(usages []certificatesv1.KeyUsage) map[certificatesv1.KeyUsage]bool {
	m := map[certificatesv1.KeyUsage]bool{}
	for _, u := range usages {
		m[u] = true
	}
	return m
}

// checkUsages requires `required` and allows only digital signature, key encipherment and it.
func checkUsages(usages []certificatesv1.KeyUsage, required certificatesv1.KeyUsage) error {
	set := usageSet(usages)
	if !set[required] {
		return fmt.Errorf("usages must include %q", required)
	}
	for u := range set {
		if u != required && u != certificatesv1.UsageDigitalSignature && u != certificatesv1.UsageKeyEncipherment {
			return fmt.Errorf("usage %q is not allowed", u)
		}
	}
	return nil
}

func checkNodeSubject(req *x509.CertificateRequest) error {
	if len(req.Subject.Organization) != 1 || req.Subject.Organization[0] != NodesGroup {
		return fmt.Errorf("subject organization must be exactly [%q]", NodesGroup)
	}
	if !strings.HasPrefix(req.Subject.CommonName, NodeUserPrefix) || len(req.Subject.CommonName) == len(NodeUserPrefix) {
		return fmt.Errorf("subject common name must begin with %q and name a node", NodeUserPrefix)
	}
	return nil
}

// ValidateNodeClient checks a kube-apiserver-client-kubelet request, as upstream's
// ValidateKubeletClientCSR: node subject, no SANs, client auth.
func ValidateNodeClient(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	if err := checkNodeSubject(req); err != nil {
		return err
	}
	if len(req.DNSNames) > 0 || len(req.EmailAddresses) > 0 || len(req.IPAddresses) > 0 || len(req.URIs) > 0 {
		return fmt.Errorf("a node client certificate may not have subject alternative names")
	}
	return checkUsages(usages, certificatesv1.UsageClientAuth)
}

// ValidateNodeServing checks a kubelet-serving request: node subject, at least one DNS or IP
// SAN and no others, server auth.
func ValidateNodeServing(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	if err := checkNodeSubject(req); err != nil {
		return err
	}
	if len(req.DNSNames)+len(req.IPAddresses) == 0 {
		return fmt.Errorf("a node serving certificate needs at least one DNS or IP subject alternative name")
	}
	if len(req.EmailAddresses) > 0 || len(req.URIs) > 0 {
		return fmt.Errorf("a node serving certificate may not have email or URI subject alternative names")
	}
	return checkUsages(usages, certificatesv1.UsageServerAuth)
}

func hasGroup(groups []string, g string) bool {
	for _, x := range groups {
		if x == g {
			return true
		}
	}
	return false
}

// ApproveClient decides a kube-apiserver-client-kubelet request: the approval message, or ""
// when it is not for this approver to approve.
func ApproveClient(csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest) string {
	if ValidateNodeClient(req, csr.Spec.Usages) != nil {
		return ""
	}
	switch {
	case csr.Spec.Username == req.Subject.CommonName && hasGroup(csr.Spec.Groups, NodesGroup):
		return MessageSelfNodeClient
	case hasGroup(csr.Spec.Groups, BootstrappersGroup):
		return MessageNodeClient
	}
	return ""
}

// ApproveServing decides a kubelet-serving request given the requesting node (nil when it is not
// registered): "" unless the node asks for itself and every SAN is its name or an address.
func ApproveServing(csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest, node *corev1.Node) string {
	if ValidateNodeServing(req, csr.Spec.Usages) != nil || node == nil {
		return ""
	}
	if csr.Spec.Username != req.Subject.CommonName || !hasGroup(csr.Spec.Groups, NodesGroup) ||
		req.Subject.CommonName != NodeUserPrefix+node.Name {
		return ""
	}
	names := map[string]bool{node.Name: true}
	var ips []net.IP
	for _, a := range node.Status.Addresses {
		if ip := net.ParseIP(a.Address); ip != nil {
			ips = append(ips, ip)
		} else {
			names[a.Address] = true
		}
	}
	for _, d := range req.DNSNames {
		if !names[d] {
			return ""
		}
	}
	for _, ip := range req.IPAddresses {
		found := false
		for _, known := range ips {
			found = found || known.Equal(ip)
		}
		if !found {
			return ""
		}
	}
	return MessageNodeServing
}
