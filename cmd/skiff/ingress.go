package main

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/nodeagent/ingress"
)

// nodeIngress is the settings of a node's built-in ingress controller.
type nodeIngress struct {
	httpPort, httpsPort int
	// disabled turns it off (`skiff up --disable-ingress`).
	disabled bool
}

// nodeIngressFlags registers --ingress-http-port and --ingress-https-port.
func nodeIngressFlags(fs *pflag.FlagSet, n *nodeIngress) {
	n.httpPort, n.httpsPort = 80, 443
	fs.IntVar(&n.httpPort, "ingress-http-port", n.httpPort, "Port of the node's ingress controller for HTTP (0: any free port, recorded in the Node's skiff.dev/ingress-ports annotation; -1: none).")
	fs.IntVar(&n.httpsPort, "ingress-https-port", n.httpsPort, "Port of the node's ingress controller for HTTPS (0: any free port, recorded in the Node's skiff.dev/ingress-ports annotation; -1: none).")
}

// newIngress prepares the node's ingress controller; when it cannot listen, it says so in one
// line and the node runs without it (nil), as without its service proxy.
func (n *localNode) newIngress(client kubernetes.Interface) *ingress.Controller {
	if n.ingress.disabled || (n.ingress.httpPort < 0 && n.ingress.httpsPort < 0) {
		return nil
	}
	addr := func(port int) string {
		if port < 0 {
			return ""
		}
		return net.JoinHostPort("", strconv.Itoa(port))
	}
	c, err := ingress.New(ingress.Config{Client: client, NodeName: n.name,
		HTTPAddr: addr(n.ingress.httpPort), HTTPSAddr: addr(n.ingress.httpsPort)})
	if err != nil {
		fmt.Fprintf(os.Stderr, "skiff: node %s runs without its ingress controller: %v\n", n.name, err)
		return nil
	}
	return c
}
