// Command httpserver is the skiff-http test image: a small static HTTP server.
//
//	GET /         its pod name (env POD_NAME, else the hostname), then a newline
//	GET /healthz  200 "ok", or 500 after /fail until /recover
//	GET /fail     makes /healthz fail (for liveness and readiness probe tests)
//	GET /recover  makes /healthz succeed again
//	GET /env?k=K  the value of environment variable K
//
// It listens on :$PORT (default 8080), and exits on SIGTERM or SIGINT.
//
// `skiff-http whoami` is an in-cluster client instead: it loads client-go's
// rest.InClusterConfig() (KUBERNETES_SERVICE_HOST/PORT, the projected token and ca.crt), posts a
// SelfSubjectReview and prints the answer's user name as "username=<name>", then exits (1 on
// failure, with the reason).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "whoami" {
		os.Exit(whoami())
	}
	name := os.Getenv("POD_NAME")
	if name == "" {
		name, _ = os.Hostname()
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	var failing atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, name)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "failing", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		failing.Store(true)
		fmt.Fprintln(w, "healthz now fails")
	})
	mux.HandleFunc("/recover", func(w http.ResponseWriter, r *http.Request) {
		failing.Store(false)
		fmt.Fprintln(w, "healthz now succeeds")
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, os.Getenv(r.URL.Query().Get("k")))
	})
	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("skiff-http %s listening on :%s", name, port)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

// whoami asks the API server who the pod's service account token authenticates as.
func whoami() int {
	cfg, err := rest.InClusterConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "in-cluster config:", err)
		return 1
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	hc.Timeout = 10 * time.Second
	body := `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`
	resp, err := hc.Post(cfg.Host+"/apis/authentication.k8s.io/v1/selfsubjectreviews", "application/json", strings.NewReader(body))
	if err != nil {
		fmt.Fprintln(os.Stderr, "request:", err)
		return 1
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "%s: %s\n", resp.Status, data)
		return 1
	}
	var review struct {
		Status struct {
			UserInfo struct {
				Username string `json:"username"`
			} `json:"userInfo"`
		} `json:"status"`
	}
	if err := json.Unmarshal(data, &review); err != nil {
		fmt.Fprintln(os.Stderr, "decoding:", err)
		return 1
	}
	fmt.Printf("host=%s\nusername=%s\n", cfg.Host, review.Status.UserInfo.Username)
	return 0
}
