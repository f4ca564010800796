package server

import "net/http"

// HandlerForTest is the server's handler for a configuration, without a listener or TLS.
func HandlerForTest(cfg Config) (http.Handler, error) { return newHandler(cfg) }
