// Package controllertest runs controllers in a test against a real in-process API server
// (apiserver/apiservertest): one manager, the controllers a test sets up on it, started and
// stopped with the test; StartManager runs another (or a restarted) manager on the same server;
// Tracing records the controllers' spans into a store the test reads.
package controllertest
