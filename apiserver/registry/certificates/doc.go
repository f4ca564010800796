// Package certificates is the storage of certificates.k8s.io/v1 certificatesigningrequests
// (Provider): the CSR strategies, validation and the status and approval subresources.
package certificates
