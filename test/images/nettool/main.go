// Command nettool is the network client of Skiff's builtin busybox image, installed as
// /bin/wget, /bin/nc, /bin/nslookup and /bin/curl there (Debian's busybox-static wget crashes on any URL,
// its nc has no -z, its nslookup ignores resolv.conf's search domains).
// It is one static binary that acts by the name it is run as (or its first argument):
//
//	wget [-q] [-O FILE|-] [-T SEC] [--spider] [-S] [-U AGENT] [--header 'K: V'] [--post-data STR] URL
//	nc [-v] [-z] [-w SEC] HOST PORT     connect; pipe stdin to the peer and the peer to stdout
//	nc -l [-p] PORT                      accept one connection and pipe it likewise
//	nslookup [-type=A|AAAA|SRV|PTR|CNAME|TXT] NAME [SERVER]
//	                                     lookup with /etc/resolv.conf's search domains
//	curl [-sSfkLI] [-o FILE] [-w FMT] [-m SEC] [--connect-timeout SEC] [-X M] [-d DATA] [-H HDR] URL...
//	                                     the part of curl the conformance specs run (agnhost's
//	                                     image runs hooks and probes as `sh -c curl ...`)
//
// Exit status 0 on success, 1 on failure (the reason on stderr), as busybox's applets; curl
// exits with curl's codes (6, 7, 22, 28, ...).
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	args := os.Args
	cmd := filepath.Base(args[0])
	if cmd != "wget" && cmd != "nc" && cmd != "nslookup" && cmd != "curl" && len(args) > 1 {
		cmd, args = args[1], args[1:]
	}
	var err error
	switch cmd {
	case "wget":
		err = wget(args[1:])
	case "nc":
		err = nc(args[1:])
	case "nslookup":
		err = nslookup(args[1:])
	case "curl":
		var code int
		code, err = curl(args[1:], os.Stdout)
		if err != nil {
			fmt.Fprintf(os.Stderr, "curl: %v\n", err)
		}
		os.Exit(code)
	default:
		err = errors.New("usage: nettool wget|nc|nslookup|curl ARGS (or run it as wget, nc, nslookup or curl)")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", cmd, err)
		os.Exit(1)
	}
}

// opts splits command-line arguments into short and long options and operands. spec lists the
// options that take a value ("O", "T", "-timeout", ...); short options combine (-qO-, -T5).
func opts(args []string, valued map[string]bool) (map[string][]string, []string, error) {
	set := map[string][]string{}
	var operands []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			operands = append(operands, args[i+1:]...)
			return set, operands, nil
		case strings.HasPrefix(a, "--"):
			k, v, hasV := strings.Cut(a[2:], "=")
			if valued["-"+k] && !hasV {
				if i+1 >= len(args) {
					return nil, nil, fmt.Errorf("option --%s needs a value", k)
				}
				i++
				v = args[i]
			}
			set["-"+k] = append(set["-"+k], v)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				k := string(a[j])
				if !valued[k] {
					set[k] = append(set[k], "")
					continue
				}
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(args) {
						return nil, nil, fmt.Errorf("option -%s needs a value", k)
					}
					i++
					v = args[i]
				}
				set[k] = append(set[k], v)
				break
			}
		default:
			operands = append(operands, a)
		}
	}
	return set, operands, nil
}

func last(set map[string][]string, keys ...string) (string, bool) {
	for _, k := range keys {
		if v, ok := set[k]; ok {
			return v[len(v)-1], true
		}
	}
	return "", false
}

func seconds(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("bad timeout %q", s)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func wget(args []string) error {
	set, operands, err := opts(args, map[string]bool{"O": true, "T": true, "U": true, "-timeout": true,
		"-output-document": true, "-user-agent": true, "-header": true, "-post-data": true, "Y": true, "P": true})
	if err != nil {
		return err
	}
	if len(operands) != 1 {
		return errors.New("usage: wget [-q] [-O FILE] [-T SEC] [--spider] [-S] [--post-data STR] URL")
	}
	raw := operands[0]
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	_, quiet := set["q"]
	_, spider := set["-spider"]
	_, showHeaders := set["S"]
	if _, ok := set["-server-response"]; ok {
		showHeaders = true
	}
	timeout := 15 * time.Minute
	if t, ok := last(set, "T", "-timeout"); ok {
		if timeout, err = seconds(t); err != nil {
			return err
		}
	}
	method := http.MethodGet
	if spider {
		method = http.MethodHead
	}
	// --post-data sends a POST with that body, as busybox's and GNU wget do.
	var body io.Reader
	data, post := last(set, "-post-data")
	if post {
		method, body = http.MethodPost, strings.NewReader(data)
	}
	req, err := http.NewRequest(method, u.String(), body)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "Wget")
	if post {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if ua, ok := last(set, "U", "-user-agent"); ok {
		req.Header.Set("User-Agent", ua)
	}
	for _, h := range set["-header"] {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	client := &http.Client{Timeout: timeout}
	if !quiet {
		fmt.Fprintf(os.Stderr, "Connecting to %s\n", u.Host)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if showHeaders {
		fmt.Fprintf(os.Stderr, "  %s %s\n", resp.Proto, resp.Status)
		keys := make([]string, 0, len(resp.Header))
		for k := range resp.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, v := range resp.Header[k] {
				fmt.Fprintf(os.Stderr, "  %s: %s\n", k, v)
			}
		}
	}
	if resp.StatusCode >= 400 {
		return fmt.Errorf("server returned error: %s %s", resp.Proto, resp.Status)
	}
	if spider {
		if !quiet {
			fmt.Fprintln(os.Stderr, "remote file exists")
		}
		return nil
	}
	out, ok := last(set, "O", "-output-document")
	if !ok {
		out = path.Base(u.Path)
		if out == "/" || out == "." || out == "" {
			out = "index.html"
		}
		if dir, ok := last(set, "P"); ok {
			out = filepath.Join(dir, out)
		}
	}
	var w io.Writer = os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
		if !quiet {
			fmt.Fprintf(os.Stderr, "saving to '%s'\n", out)
		}
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return err
	}
	if !quiet && out != "-" {
		fmt.Fprintf(os.Stderr, "'%s' saved (%d bytes)\n", out, n)
	}
	return nil
}

func nc(args []string) error {
	set, operands, err := opts(args, map[string]bool{"w": true, "p": true, "s": true, "i": true})
	if err != nil {
		return err
	}
	_, listen := set["l"]
	_, scan := set["z"]
	_, verbose := set["v"]
	timeout := time.Duration(0)
	if w, ok := last(set, "w"); ok {
		if timeout, err = seconds(w); err != nil {
			return err
		}
	}
	if listen {
		port, ok := last(set, "p")
		if !ok && len(operands) > 0 {
			port, operands = operands[len(operands)-1], operands[:len(operands)-1]
		}
		if port == "" {
			return errors.New("usage: nc -l -p PORT")
		}
		host := ""
		if len(operands) > 0 {
			host = operands[0]
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
		if err != nil {
			return err
		}
		if verbose {
			fmt.Fprintf(os.Stderr, "listening on %s ...\n", ln.Addr())
		}
		if timeout > 0 {
			_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(timeout))
		}
		conn, err := ln.Accept()
		ln.Close()
		if err != nil {
			return err
		}
		if verbose {
			fmt.Fprintf(os.Stderr, "connect to %s from %s\n", conn.LocalAddr(), conn.RemoteAddr())
		}
		return pipe(conn.(*net.TCPConn), timeout)
	}
	if len(operands) != 2 {
		return errors.New("usage: nc [-z] [-w SEC] HOST PORT | nc -l -p PORT")
	}
	dialTimeout := timeout
	if dialTimeout == 0 {
		dialTimeout = time.Minute
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(operands[0], operands[1]), dialTimeout)
	if err != nil {
		return err
	}
	if verbose {
		fmt.Fprintf(os.Stderr, "%s (%s) open\n", operands[0], conn.RemoteAddr())
	}
	if scan {
		return conn.Close()
	}
	return pipe(conn.(*net.TCPConn), timeout)
}

// pipe copies stdin to conn (then half-closes it) and conn to stdout until the peer closes;
// with idle > 0 it also ends idle seconds after stdin's end, as nc -w.
func pipe(conn *net.TCPConn, idle time.Duration) error {
	defer conn.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(conn, os.Stdin)
		_ = conn.CloseWrite()
		if idle > 0 {
			_ = conn.SetReadDeadline(time.Now().Add(idle))
		}
	}()
	_, err := io.Copy(os.Stdout, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		err = nil
	}
	return err
}

func nslookup(args []string) error {
	qtype := "A"
	var rest []string
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok && (k == "-type" || k == "-query" || k == "-q" || k == "--type") {
			qtype = strings.ToUpper(v)
			continue
		}
		rest = append(rest, a)
	}
	_, operands, err := opts(rest, map[string]bool{})
	if err != nil {
		return err
	}
	if len(operands) < 1 || len(operands) > 2 {
		return errors.New("usage: nslookup [-type=A|AAAA|SRV|PTR|CNAME|TXT] NAME [SERVER]")
	}
	name := operands[0]
	server := ""
	if len(operands) == 2 {
		server = operands[1]
	} else if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "nameserver" {
				server = f[1]
				break
			}
		}
	}
	if server == "" {
		server = "127.0.0.1"
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(server, "53")
	}
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	host, _, _ := net.SplitHostPort(server)
	fmt.Printf("Server:\t\t%s\nAddress:\t%s\n\n", host, server)
	fail := func(err error) error { return fmt.Errorf("** server can't find %s: %s", name, dnsReason(err)) }
	if ip := net.ParseIP(name); ip != nil || qtype == "PTR" {
		names, err := r.LookupAddr(ctx, name)
		if err != nil {
			return fail(err)
		}
		for _, n := range names {
			fmt.Printf("%s\tname = %s\n", name, strings.TrimSuffix(n, "."))
		}
		return nil
	}
	switch qtype {
	case "SRV":
		cname, srvs, err := r.LookupSRV(ctx, "", "", name)
		if err != nil {
			return fail(err)
		}
		for _, s := range srvs {
			fmt.Printf("%s\tservice = %d %d %d %s\n", strings.TrimSuffix(cname, "."), s.Priority, s.Weight, s.Port, strings.TrimSuffix(s.Target, "."))
		}
		return nil
	case "TXT":
		txts, err := r.LookupTXT(ctx, name)
		if err != nil {
			return fail(err)
		}
		for _, t := range txts {
			fmt.Printf("%s\ttext = %q\n", name, t)
		}
		return nil
	case "CNAME":
		cname, err := r.LookupCNAME(ctx, name)
		if err != nil {
			return fail(err)
		}
		fmt.Printf("%s\tcanonical name = %s\n", name, strings.TrimSuffix(cname, "."))
		return nil
	case "A", "AAAA", "ANY":
	default:
		return fmt.Errorf("query type %s is not supported (A, AAAA, SRV, PTR, CNAME, TXT)", qtype)
	}
	canonical, err := r.LookupCNAME(ctx, name)
	if err != nil {
		return fail(err)
	}
	network := map[string]string{"A": "ip4", "AAAA": "ip6", "ANY": "ip"}[qtype]
	ips, err := r.LookupIP(ctx, network, canonical)
	if err != nil {
		return fail(err)
	}
	for _, ip := range ips {
		fmt.Printf("Name:\t%s\nAddress: %s\n\n", strings.TrimSuffix(canonical, "."), ip)
	}
	return nil
}

func dnsReason(err error) string {
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return "NXDOMAIN"
	}
	return err.Error()
}

// curl is the part of curl the conformance specs use: a request to each URL (GET, or -X/-d,
// -I for HEAD, -H headers), the body to stdout or -o FILE, -w with %{http_code}, -f (exit 22
// on an HTTP error), -m/--max-time and --connect-timeout, -k (no certificate check), -L
// (follow redirects; they are never followed otherwise, as curl). Quiet flags (-s, -S, -v, -g)
// are accepted. It returns curl's exit codes: 0, 6 (no host), 7 (no connection), 22, 28
// (timeout), 2 (usage).
func curl(args []string, stdout io.Writer) (int, error) {
	set, operands, err := opts(args, map[string]bool{"o": true, "w": true, "m": true, "X": true, "d": true, "H": true,
		"-max-time": true, "-connect-timeout": true, "-request": true, "-data": true, "-header": true, "-output": true,
		"-write-out": true, "-retry": true, "-retry-delay": true, "-retry-max-time": true, "-resolve": true})
	if err != nil {
		return 2, err
	}
	if len(operands) == 0 {
		return 2, errors.New("usage: curl [-sSfkLI] [-o FILE] [-w FMT] [-m SEC] [-X METHOD] [-d DATA] [-H HEADER] URL...")
	}
	timeout := time.Duration(0)
	if t, ok := last(set, "m", "-max-time"); ok {
		if timeout, err = seconds(t); err != nil {
			return 2, err
		}
	}
	dialer := &net.Dialer{}
	if t, ok := last(set, "-connect-timeout"); ok {
		if dialer.Timeout, err = seconds(t); err != nil {
			return 2, err
		}
	}
	transport := &http.Transport{DialContext: dialer.DialContext}
	if _, ok := set["k"]; ok {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	if _, ok := set["-insecure"]; ok {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	client := &http.Client{Timeout: timeout, Transport: transport}
	_, follow := set["L"]
	if !follow {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	_, fail := set["f"]
	_, head := set["I"]
	method := http.MethodGet
	data, hasData := last(set, "d", "-data")
	if hasData {
		method = http.MethodPost
	}
	if head {
		method = http.MethodHead
	}
	if m, ok := last(set, "X", "-request"); ok {
		method = m
	}
	var out io.Writer = stdout
	if o, ok := last(set, "o", "-output"); ok && o != "-" {
		f, err := os.Create(o)
		if err != nil {
			return 23, err
		}
		defer f.Close()
		out = f
	}
	for _, raw := range operands {
		if !strings.Contains(raw, "://") {
			raw = "http://" + raw
		}
		var body io.Reader
		if hasData {
			body = strings.NewReader(data)
		}
		req, err := http.NewRequest(method, raw, body)
		if err != nil {
			return 3, err
		}
		req.Header.Set("User-Agent", "curl/8.0 (nettool)")
		if hasData {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for _, h := range append(set["H"], set["-header"]...) {
			k, v, _ := strings.Cut(h, ":")
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		resp, err := client.Do(req)
		if err != nil {
			var dnsErr *net.DNSError
			var netErr net.Error
			switch {
			case errors.As(err, &dnsErr):
				return 6, err
			case errors.As(err, &netErr) && netErr.Timeout():
				return 28, err
			}
			return 7, err
		}
		if fail && resp.StatusCode >= 400 {
			resp.Body.Close()
			return 22, fmt.Errorf("The requested URL returned error: %d", resp.StatusCode)
		}
		if head {
			fmt.Fprintf(out, "%s %s\r\n", resp.Proto, resp.Status)
			for k, vs := range resp.Header {
				for _, v := range vs {
					fmt.Fprintf(out, "%s: %s\r\n", k, v)
				}
			}
		}
		_, err = io.Copy(out, resp.Body)
		resp.Body.Close()
		if err != nil {
			return 56, err
		}
		if w, ok := last(set, "w", "-write-out"); ok {
			w = strings.ReplaceAll(w, "%{http_code}", fmt.Sprintf("%03d", resp.StatusCode))
			w = strings.ReplaceAll(w, "%{response_code}", fmt.Sprintf("%03d", resp.StatusCode))
			w = strings.ReplaceAll(w, "\\n", "\n")
			fmt.Fprint(stdout, w)
		}
	}
	return 0, nil
}
