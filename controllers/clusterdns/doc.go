// Package clusterdns is Skiff's cluster DNS, the job CoreDNS's kubernetes plugin does upstream:
// a DNS server (UDP and TCP, github.com/miekg/dns) fed by informers on Services and
// EndpointSlices that answers <svc>.<ns>.svc.<domain> (ClusterIP, or the ready endpoint IPs of a
// headless service), SRV records of named ports, headless pods' <hostname>.<svc>.<ns>.svc.<domain>
// and <a-b-c-d>.<ns>.pod.<domain>, PTR records of ClusterIPs and headless endpoints, NXDOMAIN
// for other names in the cluster domain, and forwards other names to the host's nameservers. Every control-plane process runs one (it is not
// leader-elected) and keeps the kube-dns Service of kube-system, as upstream's, with an
// EndpointSlice per member pointing at its address and port.
package clusterdns
