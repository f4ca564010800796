// Command httpserver is the skiff-http test image: a small static HTTP server.
//
//	GET /         its pod name (env POD_NAME, else the hostname), then a newline
//	GET /healthz  200 "ok", or 500 after /fail until /recover
//	GET /fail     makes /healthz fail (for liveness and readiness probe tests)
//	GET /recover  makes /healthz succeed again
//	GET /env?k=K  the value of environment variable K
//
// It listens on :$PORT (default 8080), and exits on SIGTERM or SIGINT.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
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
