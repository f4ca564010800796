// Package pki creates and loads the cluster's certificate authority, the API server's serving
// certificate, client certificates, and kubeconfig files, all kept under the data dir.
package pki
