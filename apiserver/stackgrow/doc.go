// Package stackgrow gives a request's goroutines, while their stacks are still shallow, the stack
// their deepest calls will need, in one growth instead of several.
//
// Go starts a goroutine with a small stack (its starting size follows the average of all
// goroutines' stacks, and an API server with thousands of idle connections keeps that average
// small) and doubles it whenever a call does not fit, copying the stack and adjusting every
// frame on it. A request to the API server runs in three goroutines that each grow from that
// start: the HTTP/2 stream's, the one the request timeout filter starts for the filter chain
// and handler, and the one the handler starts for the storage call (finisher). The filter
// chain, admission, managed fields and the etcd client are deep, so each growth copies many
// frames: with 5,000 simulated nodes renewing their Leases (issue 17) runtime.newstack was
// about 7 % of the control plane's CPU. Grow, called near the bottom of such a goroutine (the
// authenticator, the storage wrapper of Getter), puts one large frame on the stack, so the
// runtime grows it once, to 64 KiB, while it holds few frames; the deep calls that follow fit.
// A stack larger than its goroutine needs is shrunk again by the garbage collector.
//
// CockroachDB does the same on its storage path (util/growstack).
package stackgrow
