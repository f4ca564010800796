// Package csrcleaner is upstream's CSR cleaner (kube-controller-manager's csrcleaner): it deletes
// CertificateSigningRequests that are done with, so that the requests of joining and restarting
// nodes do not pile up (issue 17: 5,000 simulated nodes left 20,000 behind in a few restarts).
// A request is deleted
//   - an hour after it was approved, once issued (its Approved condition's lastUpdateTime);
//   - when its issued certificate has expired;
//   - an hour after it was denied or failed (the condition's lastUpdateTime);
//   - 24 hours after its creation while it has no condition (pending).
//
// Upstream lists every request once an hour; here each request comes back when its deadline
// passes (Deadline, a pure decision), so it goes within seconds of it rather than up to an
// hour later.
package csrcleaner
