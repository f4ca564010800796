package ingress

import (
	"crypto/tls"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Input is what a routing table is built from: the Ingresses this controller serves and the
// Services, EndpointSlices and TLS Secrets of their namespaces.
type Input struct {
	Ingresses []*networkingv1.Ingress
	Services  []*corev1.Service
	Slices    []*discoveryv1.EndpointSlice
	Secrets   []*corev1.Secret
}

// Backend is where matching requests go: the ready endpoints (pod IP:port) of one Service port.
type Backend struct {
	// Ingress is the Ingress whose rule (or default backend) this is.
	Ingress types.NamespacedName
	// Service and Port name the backend as the Ingress does (Port: a number or a port name).
	Service, Port string
	// Endpoints are the ready endpoints, host:port; none answers 503.
	Endpoints []string
	// Unsupported, when set, says why the backend cannot be served (a resource backend): 503.
	Unsupported string

	next atomic.Uint64
}

// Pick returns the next endpoint, round-robin; false when there is none.
func (b *Backend) Pick() (string, bool) {
	if b.Unsupported != "" || len(b.Endpoints) == 0 {
		return "", false
	}
	n := b.next.Add(1) - 1
	return b.Endpoints[n%uint64(len(b.Endpoints))], true
}

// Problem is something wrong with an Ingress the controller reports as a Warning event.
type Problem struct {
	Ingress types.NamespacedName
	Reason  string
	Message string
}

// Event reasons of Problems.
const (
	ReasonUnsupportedBackend = "UnsupportedBackend"
	ReasonBadTLSSecret       = "BadTLSSecret"
)

// route is one path of a host's rules.
type route struct {
	path    string // Prefix: normalized, no trailing slash but for "/"; Exact: as written
	exact   bool
	backend *Backend
}

// Table is an immutable routing table: hosts and paths to backends, and SNI to certificates.
type Table struct {
	exact     map[string][]route // by host
	wildcard  map[string][]route // by the suffix after "*."
	anyHost   []route
	fallback  *Backend
	certs     Certificates
	problems  []Problem
	ingresses int
}

// Problems are what BuildTable found wrong, to report.
func (t *Table) Problems() []Problem { return t.problems }

// Certificates is the TLS part of the table.
func (t *Table) Certificates() Certificates { return t.certs }

// BuildTable builds the routing table of the given Ingresses (all served by this controller),
// with upstream's semantics:
//   - a rule's host matches exactly, or as a wildcard "*.example.com" that matches exactly one
//     more leading label ("a.example.com", not "example.com" nor "a.b.example.com"); a rule
//     without host matches every host;
//   - a request tries the rules of its exact host, then of its wildcard host, then the rules
//     without host, and goes to the first of these whose paths match; then to the default
//     backend; else 404;
//   - among the paths of a host the longest matching one wins, Exact before Prefix of the same
//     length; Prefix matches by path elements ("/foo" matches "/foo" and "/foo/bar", not
//     "/foobar"; a trailing slash is ignored); Exact compares the path as written (case and
//     trailing slash included); ImplementationSpecific is treated as Prefix;
//   - when Ingresses conflict (same host, path and type, or several default backends) the
//     oldest (creationTimestamp, then namespace/name) wins, as ingress-nginx.
func BuildTable(in Input) *Table {
	t := &Table{exact: map[string][]route{}, wildcard: map[string][]route{}, ingresses: len(in.Ingresses)}
	ings := append([]*networkingv1.Ingress(nil), in.Ingresses...)
	sort.SliceStable(ings, func(i, j int) bool { return olderIngress(ings[i], ings[j]) })
	r := resolver{services: map[types.NamespacedName]*corev1.Service{}, slices: map[types.NamespacedName][]*discoveryv1.EndpointSlice{}}
	for _, s := range in.Services {
		r.services[types.NamespacedName{Namespace: s.Namespace, Name: s.Name}] = s
	}
	for _, s := range in.Slices {
		if svc := s.Labels[discoveryv1.LabelServiceName]; svc != "" {
			k := types.NamespacedName{Namespace: s.Namespace, Name: svc}
			r.slices[k] = append(r.slices[k], s)
		}
	}
	seen := map[string]bool{}
	for _, ing := range ings {
		id := types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name}
		if ing.Spec.DefaultBackend != nil && t.fallback == nil {
			t.fallback = r.backend(id, ing.Spec.DefaultBackend, &t.problems)
		}
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			host := strings.ToLower(rule.Host)
			for _, p := range rule.HTTP.Paths {
				exact := p.PathType != nil && *p.PathType == networkingv1.PathTypeExact
				rt := route{path: normalizePath(p.Path), exact: exact}
				if exact {
					rt.path = p.Path // Exact compares the path as written
				}
				key := host + "\x00" + rt.path + "\x00" + strconv.FormatBool(exact)
				if seen[key] {
					continue // an older Ingress has this host and path
				}
				seen[key] = true
				rt.backend = r.backend(id, &p.Backend, &t.problems)
				switch {
				case host == "":
					t.anyHost = append(t.anyHost, rt)
				case strings.HasPrefix(host, "*."):
					t.wildcard[host[2:]] = append(t.wildcard[host[2:]], rt)
				default:
					t.exact[host] = append(t.exact[host], rt)
				}
			}
		}
	}
	for _, routes := range t.exact {
		sortRoutes(routes)
	}
	for _, routes := range t.wildcard {
		sortRoutes(routes)
	}
	sortRoutes(t.anyHost)
	t.certs, t.problems = buildCertificates(ings, in.Secrets, t.problems)
	return t
}

// olderIngress orders Ingresses by creationTimestamp, then namespace/name.
func olderIngress(a, b *networkingv1.Ingress) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// sortRoutes puts longer paths first and Exact before Prefix of the same path; the sort is
// stable, so older Ingresses stay first otherwise.
func sortRoutes(routes []route) {
	sort.SliceStable(routes, func(i, j int) bool {
		if len(routes[i].path) != len(routes[j].path) {
			return len(routes[i].path) > len(routes[j].path)
		}
		return routes[i].exact && !routes[j].exact
	})
}

// normalizePath drops a trailing slash (but of "/"); an empty path is "/".
func normalizePath(p string) string {
	if p == "" {
		return "/"
	}
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
		if p == "" {
			p = "/"
		}
	}
	return p
}

// matchesPrefix tells whether the request path (normalized) matches a Prefix route element-wise.
func (r route) matchesPrefix(path string) bool {
	if r.path == "/" {
		return true
	}
	return path == r.path || strings.HasPrefix(path, r.path+"/")
}

// Route chooses the backend of a request for host (any port is ignored) and path; false: 404.
func (t *Table) Route(host, path string) (*Backend, bool) {
	host = strings.ToLower(stripPort(host))
	if path == "" {
		path = "/"
	}
	prefixPath := normalizePath(path)
	try := func(routes []route) *Backend {
		for _, r := range routes {
			if (r.exact && r.path == path) || (!r.exact && r.matchesPrefix(prefixPath)) {
				return r.backend
			}
		}
		return nil
	}
	if b := try(t.exact[host]); b != nil {
		return b, true
	}
	if _, suffix, ok := strings.Cut(host, "."); ok && suffix != "" {
		if b := try(t.wildcard[suffix]); b != nil {
			return b, true
		}
	}
	if b := try(t.anyHost); b != nil {
		return b, true
	}
	if t.fallback != nil {
		return t.fallback, true
	}
	return nil, false
}

func stripPort(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}

// resolver turns Ingress backends into endpoints.
type resolver struct {
	services map[types.NamespacedName]*corev1.Service
	slices   map[types.NamespacedName][]*discoveryv1.EndpointSlice
}

// backend resolves an Ingress backend: the Service port (by number or name), then the ready
// endpoints of the EndpointSlices' port of the same name. A resource backend is unsupported.
func (r resolver) backend(ing types.NamespacedName, b *networkingv1.IngressBackend, problems *[]Problem) *Backend {
	out := &Backend{Ingress: ing}
	if b.Resource != nil {
		out.Service = b.Resource.Kind + "/" + b.Resource.Name
		out.Unsupported = fmt.Sprintf("resource backend %s %s is not supported by %s; only service backends are", b.Resource.Kind, b.Resource.Name, ControllerName)
		*problems = append(*problems, Problem{Ingress: ing, Reason: ReasonUnsupportedBackend, Message: out.Unsupported})
		return out
	}
	if b.Service == nil {
		return out
	}
	out.Service = b.Service.Name
	if b.Service.Port.Name != "" {
		out.Port = b.Service.Port.Name
	} else {
		out.Port = strconv.Itoa(int(b.Service.Port.Number))
	}
	key := types.NamespacedName{Namespace: ing.Namespace, Name: b.Service.Name}
	svc := r.services[key]
	if svc == nil {
		return out
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
			continue
		}
		if (b.Service.Port.Name != "" && p.Name == b.Service.Port.Name) || (b.Service.Port.Name == "" && p.Port == b.Service.Port.Number) {
			sp = p
			break
		}
	}
	if sp == nil {
		return out
	}
	seen := map[string]bool{}
	for _, s := range r.slices[key] {
		if s.AddressType == discoveryv1.AddressTypeFQDN {
			continue
		}
		var port int32
		for _, p := range s.Ports {
			if p.Port != nil && ptrString(p.Name) == sp.Name && (p.Protocol == nil || *p.Protocol == corev1.ProtocolTCP) {
				port = *p.Port
				break
			}
		}
		if port == 0 {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				hp := net.JoinHostPort(a, strconv.Itoa(int(port)))
				if !seen[hp] {
					seen[hp] = true
					out.Endpoints = append(out.Endpoints, hp)
				}
			}
		}
	}
	sort.Strings(out.Endpoints)
	return out
}

func ptrString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Certificates chooses the certificate of a TLS handshake by SNI.
type Certificates struct {
	exact    map[string]*tls.Certificate
	wildcard map[string]*tls.Certificate // by the suffix after "*."
	// Default is the certificate of a TLS entry without hosts, else the first one; nil: none.
	Default *tls.Certificate
}

// For returns the certificate for the server name: exact, then wildcard, then the default;
// false when there is none (the caller's fallback).
func (c Certificates) For(serverName string) (*tls.Certificate, bool) {
	name := strings.ToLower(strings.TrimSuffix(serverName, "."))
	if cert := c.exact[name]; cert != nil {
		return cert, true
	}
	if _, suffix, ok := strings.Cut(name, "."); ok {
		if cert := c.wildcard[suffix]; cert != nil {
			return cert, true
		}
	}
	return c.Default, c.Default != nil
}

// buildCertificates maps the TLS hosts of the Ingresses (oldest first) to their Secrets'
// certificates; a Secret that is missing is skipped, one that is not a valid kubernetes.io/tls
// Secret is a Problem.
func buildCertificates(ings []*networkingv1.Ingress, secrets []*corev1.Secret, problems []Problem) (Certificates, []Problem) {
	c := Certificates{exact: map[string]*tls.Certificate{}, wildcard: map[string]*tls.Certificate{}}
	byName := map[types.NamespacedName]*corev1.Secret{}
	for _, s := range secrets {
		byName[types.NamespacedName{Namespace: s.Namespace, Name: s.Name}] = s
	}
	parsed := map[types.NamespacedName]*tls.Certificate{}
	var first *tls.Certificate
	for _, ing := range ings {
		id := types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name}
		for _, entry := range ing.Spec.TLS {
			if entry.SecretName == "" {
				continue
			}
			key := types.NamespacedName{Namespace: ing.Namespace, Name: entry.SecretName}
			cert, done := parsed[key]
			if !done {
				s := byName[key]
				if s != nil {
					var err error
					if cert, err = ParseTLSSecret(s); err != nil {
						problems = append(problems, Problem{Ingress: id, Reason: ReasonBadTLSSecret,
							Message: fmt.Sprintf("TLS secret %s is skipped: %v", entry.SecretName, err)})
						cert = nil
					}
				}
				parsed[key] = cert
			}
			if cert == nil {
				continue
			}
			if first == nil {
				first = cert
			}
			if len(entry.Hosts) == 0 && c.Default == nil {
				c.Default = cert
			}
			for _, h := range entry.Hosts {
				h = strings.ToLower(h)
				if strings.HasPrefix(h, "*.") {
					if c.wildcard[h[2:]] == nil {
						c.wildcard[h[2:]] = cert
					}
				} else if c.exact[h] == nil {
					c.exact[h] = cert
				}
			}
		}
	}
	if c.Default == nil {
		c.Default = first
	}
	return c, problems
}

// ParseTLSSecret reads a kubernetes.io/tls Secret's tls.crt and tls.key.
func ParseTLSSecret(s *corev1.Secret) (*tls.Certificate, error) {
	if s.Type != corev1.SecretTypeTLS {
		return nil, fmt.Errorf("type is %q, not %q", s.Type, corev1.SecretTypeTLS)
	}
	cert, err := tls.X509KeyPair(s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", corev1.TLSCertKey, corev1.TLSPrivateKeyKey, err)
	}
	return &cert, nil
}

// SecretNames lists the TLS Secrets the Ingresses name, namespace/name, sorted.
func SecretNames(ings []*networkingv1.Ingress) []types.NamespacedName {
	seen := map[types.NamespacedName]bool{}
	var out []types.NamespacedName
	for _, ing := range ings {
		for _, entry := range ing.Spec.TLS {
			k := types.NamespacedName{Namespace: ing.Namespace, Name: entry.SecretName}
			if entry.SecretName != "" && !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
