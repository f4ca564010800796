// Package ui is Skiff's web pages, served by the API server at /ui/ (issue 16's "the cluster
// explains itself" in a browser): server-rendered html/template pages, static files embedded
// with embed, a little vanilla JavaScript (static/ui.js), no front-end toolchain.
//
// Pages:
//   - /ui/ (?namespace=NS): nodes and pods. The server renders both tables from a list; the
//     script then follows the API's watch from the list's resourceVersion
//     (fetch('/api/v1/pods?watch=1&resourceVersion=...'), JSON lines), updating rows, resuming
//     at the last version when the server closes a watch and listing again on 410 Gone.
//   - /ui/pods/NS/NAME: the pod's sequence diagram as SVG, the same diagram `skiff trace
//     pod/NAME` prints: the same query (GET /insight/v1/traces?uid=UID&ancestor=... with the
//     UIDs of the pod's controller chain, trace.Ancestors, each owner's resource found through
//     discovery), laid out by the pure Diagram with insight/trace's Visible, Columns and
//     CriticalPath (columns by kind in trace.Kinds' order, one arrow per span from its caller to
//     its component in start order, labelled with its name and duration, the critical path
//     marked '*' and summed, durations by trace.FormatDuration, a timeline of the spans on the
//     right); the "why" sentences and the scheduler's per-node verdicts (GET /insight/v1/why:
//     "sentences" and "nodes", or "explanation" and "diagnosis" as apiserver/insight/why
//     answers), and the history with diffs (GET /insight/v1/history). An endpoint that answers 404 shows "not
//     available"; other errors are shown as they are.
//
// Authentication and authorization are the API's: the handler sits on the API server's
// non-resource mux, behind the whole handler chain (GET /ui/... must be allowed, as
// nonResourceURLs /ui/* in RBAC; system:masters may). The pages read everything as the user who
// asked, by impersonating them through the loopback client, so they show exactly what that
// user could read from the API (a forbidden list shows the API's message). For browsers,
// which cannot easily present the admin's client certificate:
//   - `skiff ui` (cmd/skiff/ui.go) runs a local proxy on 127.0.0.1 that authenticates with the
//     kubeconfig's credentials, as `kubectl proxy`, and prints/opens its URL;
//   - WithLogin, before the chain: a bearer token from ?token= or the login form (/ui/login) is
//     kept in an HttpOnly, SameSite=Strict cookie, and a page the chain refuses (401/403) is
//     answered with the login form and the same status (its stylesheet and script, /ui/static/,
//     are served to anyone);
//   - NewCookieAuthenticator, in the API server's authenticator union, authenticates that
//     cookie's token with the bearer token authenticators, for reads only (GET/HEAD, no
//     upgrade, no exec/attach/portforward/proxy), so the cookie a browser sends by itself can
//     read what the pages show and nothing more.
package ui
