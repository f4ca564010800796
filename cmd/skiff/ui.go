package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/spf13/cobra"

	"github.com/skiff-dev/skiff/apiserver/insight/ui"
)

func newUICommand() *cobra.Command {
	var (
		flags   clusterFlags
		address string
		port    int
		open    bool
	)
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Open the cluster's web pages through a local proxy with the kubeconfig's credentials",
		Long: "Serve the API server's web pages (/ui/: nodes and pods live, a pod's sequence diagram, why, history)\n" +
			"on a local address, as `kubectl proxy`: requests are forwarded with the kubeconfig's credentials\n" +
			"(--kubeconfig, else $KUBECONFIG, else <data-dir>/kubeconfig if it exists, else ~/.kube/config).\n" +
			"The address printed carries a one-time secret that the browser keeps in a cookie; only that\n" +
			"browser, and only the pages' reads, are forwarded.\n" +
			"Runs until interrupted.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := flags.clientConfig()
			if err != nil {
				return err
			}
			secret := make([]byte, 16)
			if _, err := rand.Read(secret); err != nil {
				return err
			}
			proxy, err := ui.NewProxy(cfg, hex.EncodeToString(secret))
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", net.JoinHostPort(address, fmt.Sprint(port)))
			if err != nil {
				return fmt.Errorf("listening: %w", err)
			}
			url := ui.SessionURL(ln.Addr().String(), hex.EncodeToString(secret))
			fmt.Fprintf(cmd.OutOrStdout(), "Skiff's web pages for %s: %s\n", cfg.Host, url)
			if open {
				openBrowser(url)
			}
			srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-cmd.Context().Done()
				_ = srv.Close()
			}()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	flags.add(cmd.Flags(), false)
	cmd.Flags().StringVar(&address, "address", "127.0.0.1", "Local address to serve on (a loopback address).")
	cmd.Flags().IntVar(&port, "port", 0, "Port to serve on (0: any free port).")
	cmd.Flags().BoolVar(&open, "open", true, "Open the address in a browser (xdg-open) when a display is available.")
	return cmd
}

// openBrowser starts xdg-open when there is a display; the address is printed anyway.
func openBrowser(url string) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return
	}
	if path, err := exec.LookPath("xdg-open"); err == nil {
		c := exec.Command(path, url)
		if c.Start() == nil {
			go func() { _ = c.Wait() }()
		}
	}
}
