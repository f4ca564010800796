package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestOpts(t *testing.T) {
	valued := map[string]bool{"O": true, "T": true, "w": true, "p": true, "-timeout": true}
	for _, tc := range []struct {
		args     []string
		set      map[string][]string
		operands []string
		err      string
	}{
		{args: []string{"-qO-", "http://web"}, set: map[string][]string{"q": {""}, "O": {"-"}}, operands: []string{"http://web"}},
		{args: []string{"-q", "-O", "-", "-T", "5", "web"}, set: map[string][]string{"q": {""}, "O": {"-"}, "T": {"5"}}, operands: []string{"web"}},
		{args: []string{"-T5", "--spider", "--timeout=3", "x"}, set: map[string][]string{"T": {"5"}, "-spider": {""}, "-timeout": {"3"}}, operands: []string{"x"}},
		{args: []string{"-zw", "2", "h", "80"}, set: map[string][]string{"z": {""}, "w": {"2"}}, operands: []string{"h", "80"}},
		{args: []string{"-lp", "8080"}, set: map[string][]string{"l": {""}, "p": {"8080"}}},
		{args: []string{"-O"}, err: "option -O needs a value"},
	} {
		set, operands, err := opts(tc.args, valued)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("opts(%q): %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(set, tc.set) || !reflect.DeepEqual(operands, tc.operands) {
			t.Errorf("opts(%q) = %v %q %v; want %v %q", tc.args, set, operands, err, tc.set, tc.operands)
		}
	}
}

func TestWgetAndNc(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/echo" {
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s", r.Method, b)
			return
		}
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "hello")
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "page")
	if err := wget([]string{"-q", "-T", "5", "-O", out, srv.URL + "/"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "hello\n" {
		t.Errorf("wget -O: %q", b)
	}
	for _, post := range [][]string{{"--post-data", `{"key":"a"}`}, {`--post-data={"key":"a"}`}} {
		if err := wget(append(append([]string{"-q", "-O", out}, post...), srv.URL+"/echo")); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(out); string(b) != `POST {"key":"a"}` {
			t.Errorf("wget %v: the server saw %q", post, b)
		}
	}
	if err := wget([]string{"-q", "--spider", strings.TrimPrefix(srv.URL, "http://") + "/"}); err != nil {
		t.Errorf("wget --spider of a page: %v", err)
	}
	if err := wget([]string{"-q", "--spider", srv.URL + "/nothere"}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("wget --spider of a missing page: %v", err)
	}
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	if err := nc([]string{"-z", "-w", "2", host, port}); err != nil {
		t.Errorf("nc -z of an open port: %v", err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if err := nc([]string{"-z", "-w", "2", "127.0.0.1", fmt.Sprint(closed)}); err == nil {
		t.Error("nc -z of a closed port succeeded")
	}
}

// TestCurl: the body to stdout, -w with the status code, -f on a 404 (exit 22), -d as a POST,
// -o to a file, -I headers, a refused connection (exit 7).
func TestCurl(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Query().Get("msg"), b)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"get", []string{"-s", srv.URL + "/echo?msg=poststart"}, 0, "GET poststart "},
		{"write-out", []string{"-s", "-o", "/dev/null", "-w", "%{http_code}", srv.URL + "/missing"}, 0, "404"},
		{"fail", []string{"-sf", srv.URL + "/missing"}, 22, ""},
		{"post", []string{"-s", "-d", "x=1", srv.URL + "/echo"}, 0, "POST  x=1"},
		{"method", []string{"-s", "-X", "PUT", srv.URL + "/echo"}, 0, "PUT  "},
		{"refused", []string{"-s", "--connect-timeout", "2", "http://127.0.0.1:1/"}, 7, ""},
		{"usage", []string{"-s"}, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf strings.Builder
			code, _ := curl(tc.args, &buf)
			if code != tc.code || buf.String() != tc.out {
				t.Errorf("curl %v: code %d output %q, want %d %q", tc.args, code, buf.String(), tc.code, tc.out)
			}
		})
	}
	var buf strings.Builder
	if code, err := curl([]string{"-sI", srv.URL + "/echo"}, &buf); code != 0 || !strings.HasPrefix(buf.String(), "HTTP/1.1 200 OK\r\n") {
		t.Errorf("-I: %d %v %q", code, err, buf.String())
	}
}
