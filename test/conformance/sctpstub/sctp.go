// Package sctp stands in for github.com/ishidawataru/sctp, which the module proxy here does not
// serve, so that agnhost builds. It has the part of that package's API agnhost uses; every
// operation fails with ErrUnsupported, so agnhost's SCTP modes fail and the others work. No
// [Conformance] spec uses SCTP.
package sctp

import (
	"errors"
	"net"
	"strconv"
	"time"
)

// ErrUnsupported is returned by every operation of this stub.
var ErrUnsupported = errors.New("sctp: not supported by this build (stub package)")

// SCTPAddr is an SCTP endpoint: addresses and a port.
type SCTPAddr struct {
	IPAddrs []net.IPAddr
	Port    int
}

// Network returns "sctp".
func (a *SCTPAddr) Network() string { return "sctp" }

// String returns the first address and the port.
func (a *SCTPAddr) String() string {
	if a == nil {
		return "<nil>"
	}
	host := ""
	if len(a.IPAddrs) > 0 {
		host = a.IPAddrs[0].String()
	}
	return net.JoinHostPort(host, itoa(a.Port))
}

func itoa(n int) string { return strconv.Itoa(n) }

// ResolveSCTPAddr resolves addr like net.ResolveTCPAddr does (resolution works; use fails).
func ResolveSCTPAddr(network, addr string) (*SCTPAddr, error) {
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, err
	}
	a := &SCTPAddr{Port: tcp.Port}
	if tcp.IP != nil {
		a.IPAddrs = []net.IPAddr{{IP: tcp.IP, Zone: tcp.Zone}}
	}
	return a, nil
}

// SCTPConn is an SCTP association. The stub never returns one.
type SCTPConn struct{}

// Read fails.
func (c *SCTPConn) Read(b []byte) (int, error) { return 0, ErrUnsupported }

// Write fails.
func (c *SCTPConn) Write(b []byte) (int, error) { return 0, ErrUnsupported }

// Close does nothing.
func (c *SCTPConn) Close() error { return nil }

// LocalAddr returns nil.
func (c *SCTPConn) LocalAddr() net.Addr { return nil }

// RemoteAddr returns nil.
func (c *SCTPConn) RemoteAddr() net.Addr { return nil }

// SCTPRemoteAddr fails.
func (c *SCTPConn) SCTPRemoteAddr(id int) (*SCTPAddr, error) { return nil, ErrUnsupported }

// SetDeadline fails.
func (c *SCTPConn) SetDeadline(t time.Time) error { return ErrUnsupported }

// SetReadDeadline fails.
func (c *SCTPConn) SetReadDeadline(t time.Time) error { return ErrUnsupported }

// SetWriteDeadline fails.
func (c *SCTPConn) SetWriteDeadline(t time.Time) error { return ErrUnsupported }

// SCTPListener listens for SCTP associations. The stub never returns one.
type SCTPListener struct{}

// AcceptSCTP fails.
func (l *SCTPListener) AcceptSCTP() (*SCTPConn, error) { return nil, ErrUnsupported }

// Accept fails.
func (l *SCTPListener) Accept() (net.Conn, error) { return nil, ErrUnsupported }

// Close does nothing.
func (l *SCTPListener) Close() error { return nil }

// Addr returns nil.
func (l *SCTPListener) Addr() net.Addr { return nil }

// DialSCTP fails.
func DialSCTP(network string, laddr, raddr *SCTPAddr) (*SCTPConn, error) { return nil, ErrUnsupported }

// ListenSCTP fails.
func ListenSCTP(network string, laddr *SCTPAddr) (*SCTPListener, error) { return nil, ErrUnsupported }
