package server

import "net/http"

// RoutesForTest is the server's handler for a configuration, without a listener.
func RoutesForTest(cfg Config) http.Handler { return (&Server{cfg: cfg}).routes() }
